package io.peft4j.probe;

/**
 * A feature matrix with one class index per row: what a probe trains and is evaluated on.
 *
 * <pre>{@code
 * var train = new LabeledFeatures(features.matrix(6, Pooling.CLS), features.rows(), features.dim(), labels);
 * }</pre>
 *
 * @param x      {@code [rows, dim]} row-major
 * @param rows   number of examples
 * @param dim    feature width
 * @param labels class index of each row, in {@code 0..classes-1}
 */
public record LabeledFeatures(float[] x, int rows, int dim, int[] labels) {
    public LabeledFeatures {
        if ((long) rows * dim != x.length) throw new IllegalArgumentException(x.length + " values for " + rows + " x " + dim);
        if (labels.length != rows) throw new IllegalArgumentException(labels.length + " labels for " + rows + " rows");
    }
}
