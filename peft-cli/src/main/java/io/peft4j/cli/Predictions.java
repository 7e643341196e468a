package io.peft4j.cli;

import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;

import java.util.List;
import java.util.Map;

/** Runs a classifier over records in chunks, moving a progress bar. */
final class Predictions {
    private Predictions() {
    }

    /** Log-probabilities of every record, computed chunk by chunk. */
    static double[][] logProbabilities(TextClassifier clf, List<Map<String, String>> records, int batchSize, Progress bar) {
        double[][] out = new double[records.size()][];
        for (int s = 0; s < records.size(); s += batchSize) {
            List<Map<String, String>> part = records.subList(s, Math.min(records.size(), s + batchSize));
            double[][] lp = clf.logProbabilities(part, batchSize);
            System.arraycopy(lp, 0, out, s, lp.length);
            bar.step(part.size());
        }
        return out;
    }

    /** The classifier's report on labelled records. */
    static ClassificationReport evaluate(TextClassifier clf, List<TextRecord> records, int batchSize, Progress bar) {
        int[] gold = TextClassifier.goldIndices(records, clf.labels());
        double[][] lp = logProbabilities(clf, records.stream().map(TextRecord::fields).toList(), batchSize, bar);
        return ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(lp));
    }
}
