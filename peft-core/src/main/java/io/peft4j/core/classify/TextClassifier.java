package io.peft4j.core.classify;

import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;

import java.util.List;
import java.util.Map;

/**
 * Anything that assigns texts to labels: a model with a classification head ({@link HeadClassifier}), or a
 * template with a verbalizer ({@code io.peft4j.prompt.classify.PromptClassifier}). Records are their fields by
 * name, as {@link TextRecord#fields()} holds them.
 */
public interface TextClassifier {
    /** The label names, in class order. */
    List<String> labels();

    /** Natural-log class probabilities, {@code [records][labels]}, computed in batches of {@code batchSize}. */
    double[][] logProbabilities(List<Map<String, String>> records, int batchSize);

    /** The most probable class of each record, as an index into {@link #labels()}. */
    default int[] predict(List<Map<String, String>> records, int batchSize) {
        return argmax(logProbabilities(records, batchSize));
    }

    /** The classifier's report on labelled records; a record whose label is not one of {@link #labels()} is an error naming its line. */
    default ClassificationReport evaluate(List<TextRecord> records, int batchSize) {
        int[] gold = goldIndices(records, labels());
        return ClassificationReport.of(labels(), gold, predict(records.stream().map(TextRecord::fields).toList(), batchSize));
    }

    /** Each record's label as an index into {@code labels}; faults name the record's file and line. */
    static int[] goldIndices(List<TextRecord> records, List<String> labels) {
        int[] gold = new int[records.size()];
        for (int i = 0; i < gold.length; i++) {
            TextRecord r = records.get(i);
            gold[i] = labels.indexOf(Labels.of(List.of(r)).get(0));
            if (gold[i] < 0) throw r.error("label '" + r.label() + "' is not one the classifier knows " + labels);
        }
        return gold;
    }

    /** The index of each row's largest value (the first on a tie). */
    static int[] argmax(double[][] rows) {
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            for (int c = 1; c < rows[i].length; c++) if (rows[i][c] > rows[i][out[i]]) out[i] = c;
        }
        return out;
    }

    /** {@code z - log Σ exp(z)}, computed from the largest value so that it stays finite. */
    static double[] logSoftmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : z) max = Math.max(max, v);
        for (double v : z) sum += Math.exp(v - max);
        double lse = max + Math.log(sum);
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) out[i] = z[i] - lse;
        return out;
    }
}
