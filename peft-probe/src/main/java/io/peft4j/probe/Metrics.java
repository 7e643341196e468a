package io.peft4j.probe;

/**
 * Classification scores: accuracy and macro-averaged F1.
 *
 * <pre>{@code
 * double f1 = Metrics.macroF1(new int[]{0, 1, 1}, new int[]{0, 1, 0}, 2);   // (2/3 + 2/3) / 2
 * }</pre>
 */
public final class Metrics {
    private Metrics() {
    }

    /** The fraction of rows where {@code predicted} equals {@code gold}. */
    public static double accuracy(int[] gold, int[] predicted) {
        check(gold, predicted);
        int hit = 0;
        for (int i = 0; i < gold.length; i++) if (gold[i] == predicted[i]) hit++;
        return (double) hit / gold.length;
    }

    /**
     * F1 = 2·TP / (2·TP + FP + FN) per class, averaged over the classes that occur in {@code gold} or
     * {@code predicted} (scikit-learn's {@code f1_score(average="macro")}: a class that is predicted but never
     * right scores 0).
     */
    public static double macroF1(int[] gold, int[] predicted, int classes) {
        check(gold, predicted);
        long[] tp = new long[classes], fp = new long[classes], fn = new long[classes];
        for (int i = 0; i < gold.length; i++) {
            if (gold[i] == predicted[i]) tp[gold[i]]++;
            else {
                fp[predicted[i]]++;
                fn[gold[i]]++;
            }
        }
        double sum = 0;
        int present = 0;
        for (int c = 0; c < classes; c++) {
            long denom = 2 * tp[c] + fp[c] + fn[c];
            if (denom == 0) continue;
            sum += 2.0 * tp[c] / denom;
            present++;
        }
        return present == 0 ? 0 : sum / present;
    }

    /** The accuracy of always predicting the most frequent training class on {@code gold}. */
    public static double majorityBaseline(int[] trainLabels, int[] gold, int classes) {
        int[] count = new int[classes];
        for (int y : trainLabels) count[y]++;
        int best = 0;
        for (int c = 1; c < classes; c++) if (count[c] > count[best]) best = c;
        int hit = 0;
        for (int y : gold) if (y == best) hit++;
        return gold.length == 0 ? 0 : (double) hit / gold.length;
    }

    private static void check(int[] gold, int[] predicted) {
        if (gold.length != predicted.length) throw new IllegalArgumentException(gold.length + " gold labels, " + predicted.length + " predictions");
        if (gold.length == 0) throw new IllegalArgumentException("no examples to score");
    }
}
