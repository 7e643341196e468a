package io.peft4j.probe;

/**
 * A classifier fitted on frozen features: {@link LinearProbe} or {@link MlpProbe}.
 *
 * <pre>{@code
 * Probe p = LinearProbe.fit(train, dev, 2, LinearProbe.Config.defaults());
 * int[] predicted = p.predict(dev.x(), dev.rows());
 * }</pre>
 */
public interface Probe {
    /** Class probabilities {@code [rows][classes]} of the rows of {@code x} ({@code [rows, dim]} row-major). */
    double[][] probabilities(float[] x, int rows);

    /** The most probable class of each row (the lowest index on ties). */
    default int[] predict(float[] x, int rows) {
        double[][] p = probabilities(x, rows);
        int[] out = new int[rows];
        for (int i = 0; i < rows; i++) {
            int best = 0;
            for (int k = 1; k < p[i].length; k++) if (p[i][k] > p[i][best]) best = k;
            out[i] = best;
        }
        return out;
    }

    /** Optimizer iterations (linear) or epochs (MLP) of the returned parameters. */
    int iterations();

    /** Mean cross-entropy on the early-stopping set at the returned parameters, or NaN without one. */
    double stoppingLoss();

    /** Mean cross-entropy of the probe on {@code data}. */
    default double loss(LabeledFeatures data) {
        double[][] p = probabilities(data.x(), data.rows());
        double s = 0;
        for (int i = 0; i < data.rows(); i++) s -= Math.log(Math.max(p[i][data.labels()[i]], 1e-300));
        return s / data.rows();
    }
}
