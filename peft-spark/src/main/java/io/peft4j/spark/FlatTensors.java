package io.peft4j.spark;

import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.List;

/**
 * The trainable tensors' values or gradients as plain Java arrays, in the order of the model's trainable parameters: what
 * crosses the network each step (the driver's values to the executors, their gradient sums back). float32 models travel
 * as {@code float[]}, float64 ones as {@code double[]}; a tensor without a gradient is null. Sums are taken element by
 * element in the tensors' own type, as the single process adds micro-batch gradients.
 */
final class FlatTensors implements Serializable {
    private static final long serialVersionUID = 1L;

    private final boolean doubles;
    private final double[][] d;
    private final float[][] f;

    private FlatTensors(boolean doubles, int n) {
        this.doubles = doubles;
        this.d = doubles ? new double[n][] : null;
        this.f = doubles ? null : new float[n][];
    }

    /** The values of {@code params}. */
    static FlatTensors values(List<Tensor> params) {
        return of(params, false);
    }

    /** The gradients of {@code params} (null where a tensor has none). */
    static FlatTensors grads(List<Tensor> params) {
        return of(params, true);
    }

    private static FlatTensors of(List<Tensor> params, boolean grads) {
        FlatTensors out = new FlatTensors(isDouble(params), params.size());
        for (int i = 0; i < params.size(); i++) {
            INDArray a = grads ? params.get(i).grad() : params.get(i).value();
            if (a == null) continue;
            INDArray c = a.dup('c');
            if (out.doubles) out.d[i] = c.data().asDouble();
            else out.f[i] = c.data().asFloat();
        }
        return out;
    }

    /** {@code arrays} (FLOAT or DOUBLE, as {@code doubles} says), such as an optimizer's moments in parameter order. */
    static FlatTensors ofArrays(List<INDArray> arrays, boolean doubles) {
        FlatTensors out = new FlatTensors(doubles, arrays.size());
        for (int i = 0; i < arrays.size(); i++) {
            INDArray c = arrays.get(i).dup('c');
            if (doubles) out.d[i] = c.castTo(DataType.DOUBLE).data().asDouble();
            else out.f[i] = c.castTo(DataType.FLOAT).data().asFloat();
        }
        return out;
    }

    /** Multiplies every value by {@code c} in place and returns this. */
    FlatTensors times(double c) {
        for (int i = 0; i < size(); i++) {
            if (doubles && d[i] != null) for (int j = 0; j < d[i].length; j++) d[i][j] *= c;
            if (!doubles && f[i] != null) for (int j = 0; j < f[i].length; j++) f[i][j] *= (float) c;
        }
        return this;
    }

    boolean isDouble() {
        return doubles;
    }

    private static boolean isDouble(List<Tensor> params) {
        DataType t = params.get(0).dataType();
        for (Tensor p : params) {
            if (p.dataType() != t || t != DataType.FLOAT && t != DataType.DOUBLE) {
                throw new IllegalArgumentException("the trainable tensors must all be FLOAT or all DOUBLE to be shipped, not " + p.dataType()
                        + " beside " + t);
            }
        }
        return t == DataType.DOUBLE;
    }

    int size() {
        return doubles ? d.length : f.length;
    }

    /** Tensor {@code i} as an array of {@code shape}, or null when it has none. */
    INDArray array(int i, long[] shape) {
        if (doubles) return d[i] == null ? null : Nd4j.create(d[i], shape, 'c');
        return f[i] == null ? null : Nd4j.create(f[i], shape, 'c');
    }

    /** Copies these values into {@code params} (the same tensors, in the same order, with the same element counts). */
    void copyInto(List<Tensor> params) {
        if (params.size() != size()) throw new IllegalStateException(params.size() + " tensors for " + size() + " values");
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            INDArray v = array(i, p.shape());
            if (v == null) throw new IllegalStateException("no value for tensor " + i);
            p.value().assign(v.castTo(p.dataType()));
        }
    }

    /** Adds {@code other} into this element by element (a tensor null in both stays null) and returns this. */
    FlatTensors plus(FlatTensors other) {
        if (other.doubles != doubles || other.size() != size()) throw new IllegalStateException("gradients of different models cannot be added");
        for (int i = 0; i < size(); i++) {
            if (doubles) d[i] = add(d[i], other.d[i]);
            else f[i] = add(f[i], other.f[i]);
        }
        return this;
    }

    private static double[] add(double[] a, double[] b) {
        if (a == null) return b;
        if (b == null) return a;
        if (a.length != b.length) throw new IllegalStateException("gradients of " + a.length + " and " + b.length + " values cannot be added");
        for (int j = 0; j < a.length; j++) a[j] += b[j];
        return a;
    }

    private static float[] add(float[] a, float[] b) {
        if (a == null) return b;
        if (b == null) return a;
        if (a.length != b.length) throw new IllegalStateException("gradients of " + a.length + " and " + b.length + " values cannot be added");
        for (int j = 0; j < a.length; j++) a[j] += b[j];
        return a;
    }

    /** The payload in bytes (what the arrays hold, without framing). */
    long bytes() {
        long n = 0;
        if (doubles) for (double[] a : d) n += a == null ? 0 : 8L * a.length;
        else for (float[] a : f) n += a == null ? 0 : 4L * a.length;
        return n;
    }

    @Override
    public String toString() {
        return "FlatTensors[" + size() + " tensors, " + bytes() + " bytes, " + (doubles ? "float64" : "float32") + "]";
    }
}
