package io.peft4j.probe;

/**
 * Per-feature standardization {@code z = (x - μ) / σ} with μ and σ from the training rows; a constant
 * feature (σ below 1e-8 of the largest σ, or 0) gets σ = 1, so it maps to 0.
 */
final class Standardizer {
    final double[] mean, scale;

    private Standardizer(double[] mean, double[] scale) {
        this.mean = mean;
        this.scale = scale;
    }

    /** The identity (no standardization). */
    static Standardizer identity(int dim) {
        double[] one = new double[dim];
        java.util.Arrays.fill(one, 1);
        return new Standardizer(new double[dim], one);
    }

    static Standardizer fit(LabeledFeatures data) {
        int n = data.rows(), d = data.dim();
        double[] mean = new double[d], var = new double[d];
        float[] x = data.x();
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= Math.max(n, 1);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                double c = x[i * d + j] - mean[j];
                var[j] += c * c;
            }
        }
        double max = 0;
        double[] scale = new double[d];
        for (int j = 0; j < d; j++) {
            scale[j] = Math.sqrt(var[j] / Math.max(n, 1));
            max = Math.max(max, scale[j]);
        }
        for (int j = 0; j < d; j++) if (scale[j] <= 1e-8 * max || scale[j] == 0) scale[j] = 1;
        return new Standardizer(mean, scale);
    }

    /** The standardized rows as doubles, {@code [rows, dim]} row-major. */
    double[] apply(float[] x, int rows, int dim) {
        double[] z = new double[rows * dim];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < dim; j++) z[i * dim + j] = (x[i * dim + j] - mean[j]) / scale[j];
        }
        return z;
    }
}
