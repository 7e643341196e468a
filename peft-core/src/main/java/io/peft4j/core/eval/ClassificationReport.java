package io.peft4j.core.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a classifier got right on labelled data: accuracy, macro-F1, per-class precision / recall / F1 and
 * the confusion matrix, computed as scikit-learn's {@code classification_report} does (a class never
 * predicted has precision 0, one absent from the data recall 0; macro-F1 averages the per-class F1 of every
 * label, present or not).
 *
 * @param labels    the label names, in index order
 * @param confusion {@code confusion[gold][predicted]} counts
 */
public record ClassificationReport(List<String> labels, long[][] confusion) {
    public ClassificationReport {
        labels = List.copyOf(labels);
        if (confusion.length != labels.size()) throw new IllegalArgumentException(confusion.length + " confusion rows for " + labels.size() + " labels");
    }

    /** The report of {@code predicted} against {@code gold} (label indices into {@code labels}). */
    public static ClassificationReport of(List<String> labels, int[] gold, int[] predicted) {
        if (gold.length != predicted.length) throw new IllegalArgumentException(gold.length + " gold labels but " + predicted.length + " predictions");
        long[][] c = new long[labels.size()][labels.size()];
        for (int i = 0; i < gold.length; i++) c[gold[i]][predicted[i]]++;
        return new ClassificationReport(labels, c);
    }

    /** Examples counted. */
    public long n() {
        long n = 0;
        for (long[] row : confusion) for (long v : row) n += v;
        return n;
    }

    public double accuracy() {
        long right = 0;
        for (int i = 0; i < confusion.length; i++) right += confusion[i][i];
        return n() == 0 ? 0 : (double) right / n();
    }

    /** Of the examples predicted as class {@code c}, the share that are {@code c} (0 when none is). */
    public double precision(int c) {
        long predicted = 0;
        for (long[] row : confusion) predicted += row[c];
        return predicted == 0 ? 0 : (double) confusion[c][c] / predicted;
    }

    /** Of the examples of class {@code c}, the share predicted as {@code c} (0 when there are none). */
    public double recall(int c) {
        long gold = 0;
        for (long v : confusion[c]) gold += v;
        return gold == 0 ? 0 : (double) confusion[c][c] / gold;
    }

    public double f1(int c) {
        double p = precision(c), r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /** Examples whose gold label is {@code c}. */
    public long support(int c) {
        long s = 0;
        for (long v : confusion[c]) s += v;
        return s;
    }

    /** The unweighted mean of the classes' F1. */
    public double macroF1() {
        double s = 0;
        for (int c = 0; c < labels.size(); c++) s += f1(c);
        return labels.isEmpty() ? 0 : s / labels.size();
    }

    /**
     * The report as {@code peft eval --json} prints it: {@code {"accuracy", "macro_f1", "n", "per_class":
     * {label: {"precision", "recall", "f1", "support"}}, "labels", "confusion"}}.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("accuracy", accuracy());
        o.put("macro_f1", macroF1());
        o.put("n", n());
        Map<String, Object> per = new LinkedHashMap<>();
        for (int c = 0; c < labels.size(); c++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("precision", precision(c));
            m.put("recall", recall(c));
            m.put("f1", f1(c));
            m.put("support", support(c));
            per.put(labels.get(c), m);
        }
        o.put("per_class", per);
        o.put("labels", labels);
        o.put("confusion", confusion);
        return o;
    }

    /** A plain-text table: one row per class, then accuracy and macro-F1, then the confusion matrix. */
    public String toTable() {
        int w = Math.max(9, labels.stream().mapToInt(String::length).max().orElse(0));
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s %9s %9s %9s %9s%n", "", "precision", "recall", "f1", "support"));
        for (int c = 0; c < labels.size(); c++) {
            sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s %9.4f %9.4f %9.4f %9d%n", labels.get(c), precision(c), recall(c), f1(c), support(c)));
        }
        sb.append(String.format(java.util.Locale.ROOT, "%n%-" + w + "s %9.4f (n = %d)%n%-" + w + "s %9.4f%n", "accuracy", accuracy(), n(), "macro-F1", macroF1()));
        sb.append(String.format(java.util.Locale.ROOT, "%nconfusion (rows: gold, columns: predicted)%n%-" + w + "s", ""));
        for (String l : labels) sb.append(String.format(java.util.Locale.ROOT, " %9s", l.length() > 9 ? l.substring(0, 9) : l));
        sb.append('\n');
        for (int g = 0; g < labels.size(); g++) {
            sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s", labels.get(g)));
            for (long v : confusion[g]) sb.append(String.format(java.util.Locale.ROOT, " %9d", v));
            sb.append('\n');
        }
        return sb.toString();
    }
}
