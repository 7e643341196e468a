package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

import static io.peft4j.core.tensor.OpSupport.contiguous;
import static io.peft4j.core.tensor.OpSupport.isTrailingShape;
import static io.peft4j.core.tensor.OpSupport.reduceTo;

/**
 * Elementwise arithmetic with NumPy broadcasting, and their backward: {@link Ops#add}, {@link Ops#sub},
 * {@link Ops#mul}, {@link Ops#scale}, {@link Ops#broadcastTo}.
 */
final class ElementwiseOps {
    private ElementwiseOps() {
    }

    static Tensor add(Tensor a, Tensor b) {
        INDArray v = broadcastOp(a.value(), b.value(), '+');
        return Tensor.result(v, g -> {
            a.accumulate(reduceTo(g, a.shape()));
            b.accumulate(reduceTo(g, b.shape()));
        }, a, b);
    }

    static Tensor sub(Tensor a, Tensor b) {
        INDArray v = broadcastOp(a.value(), b.value(), '-');
        return Tensor.result(v, g -> {
            a.accumulate(reduceTo(g, a.shape()));
            b.accumulate(reduceTo(g.neg(), b.shape()));
        }, a, b);
    }

    static Tensor mul(Tensor a, Tensor b) {
        INDArray av = a.value(), bv = b.value();
        if (b.requiresGrad() && isTrailingVector(bv, av)) {
            INDArray vec = contiguous(bv);
            if (FloatKernels.applies(av, vec)) {
                float[] scale = FloatKernels.floats(vec, (int) vec.length());
                if (awayFromZero(scale)) return mulByTrainableVector(a, b, scale);
            }
        }
        INDArray v = broadcastOp(av, bv, '*');
        INDArray keptB = a.requiresGrad() ? Tensor.save(bv) : null, keptA = b.requiresGrad() ? Tensor.save(av) : null;
        return Tensor.result(v, g -> {
            if (a.requiresGrad()) a.accumulate(reduceTo(broadcastOp(g, keptB, '*'), a.shape()));
            if (b.requiresGrad()) b.accumulate(productSum(g, keptA, b.shape()));
        }, a, b);
    }

    private static boolean awayFromZero(float[] v) {
        for (float x : v) if (!(Math.abs(x) > 1e-2f)) return false;
        return true;
    }

    /**
     * {@code x ⊙ v} for a trainable float vector v over x's last dimension (IA3's scaling vectors). The product
     * goes straight into memory the backward keeps, and v's gradient {@code Σ_rows g ⊙ x} is taken as
     * {@code (Σ_rows g ⊙ y) / v}: x itself is neither kept nor copied out of its block. Used only when every
     * {@code |v_j| > 0.01}, so the division costs no precision that matters.
     */
    private static Tensor mulByTrainableVector(Tensor a, Tensor b, float[] v) {
        INDArray av = a.value();
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray y = Tensor.newSaved(av.dataType(), av.shape());
        FloatKernels.scaleColumns(av, v, y);
        t.stop();
        INDArray yk = Tensor.save(y);
        long[] bs = b.shape();
        return Tensor.result(y, g -> {
            INDArray gc = contiguous(g);
            if (!FloatKernels.applies(gc)) gc = gc.dup('c');
            if (a.requiresGrad()) {
                INDArray dx = Nd4j.createUninitialized(gc.dataType(), gc.shape(), 'c');
                FloatKernels.scaleColumns(gc, v, dx);
                a.accumulate(dx);
            }
            INDArray dv = FloatKernels.columnDot(gc, yk);
            for (int j = 0; j < v.length; j++) dv.putScalar(j, dv.getFloat(j) / v[j]);
            b.accumulate(dv.reshape(bs));
        }, a, b);
    }

    /** {@code g ⊙ other} summed down to {@code shape}; one pass for a vector over the last dimension (IA3). */
    private static INDArray productSum(INDArray g, INDArray other, long[] shape) {
        if (isTrailingShape(shape, g) && Arrays.equals(g.shape(), other.shape()) && FloatKernels.applies(g, other)) {
            return FloatKernels.columnDot(g, other).reshape(shape);
        }
        return reduceTo(broadcastOp(g, other, '*'), shape);
    }

    static Tensor scale(Tensor a, double s) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray v = a.value().mul(s);
        t.stop();
        return Tensor.result(v, g -> a.accumulate(g.mul(s)), a);
    }

    private static INDArray broadcastOp(INDArray a, INDArray b, char op) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray r = broadcastOpUntimed(a, b, op);
        t.stop();
        return r;
    }

    private static INDArray broadcastOpUntimed(INDArray a, INDArray b, char op) {
        if (Arrays.equals(a.shape(), b.shape())) {
            return switch (op) {
                case '+' -> a.add(b);
                case '-' -> a.sub(b);
                default -> a.mul(b);
            };
        }
        // the common case (bias, IA3 scale, LayerNorm affine): a vector over the last dimension, applied
        // row by row without materialising the broadcast
        if (isTrailingVector(b, a)) return rowOp(a, b, op);
        if (op != '-' && isTrailingVector(a, b)) return rowOp(b, a, op);
        long[] shape = broadcastShape(a.shape(), b.shape());
        INDArray x = expand(a, shape), y = expand(b, shape);
        return switch (op) {
            case '+' -> x.add(y);
            case '-' -> x.sub(y);
            default -> x.mul(y);
        };
    }

    /** Whether {@code v} is a {@link OpSupport#isTrailingShape trailing vector} of the larger {@code x}. */
    private static boolean isTrailingVector(INDArray v, INDArray x) {
        return isTrailingShape(v.shape(), x) && x.length() > v.length();
    }

    private static INDArray rowOp(INDArray x, INDArray v, char op) {
        long n = x.size(x.rank() - 1);
        INDArray x2 = contiguous(x).reshape('c', x.length() / n, n), v1 = contiguous(v).reshape(new long[]{n});
        INDArray r = switch (op) {
            case '+' -> x2.addRowVector(v1);
            case '-' -> x2.subRowVector(v1);
            default -> x2.mulRowVector(v1);
        };
        return r.reshape('c', x.shape());
    }

    private static INDArray expand(INDArray a, long[] shape) {
        if (Arrays.equals(a.shape(), shape)) return a;
        INDArray r = a;
        if (a.rank() < shape.length) {
            long[] padded = new long[shape.length];
            Arrays.fill(padded, 1);
            System.arraycopy(a.shape(), 0, padded, shape.length - a.rank(), a.rank());
            r = a.reshape(padded);
        }
        return r.broadcast(shape);
    }

    private static long[] broadcastShape(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i < r - a.length ? 1 : a[i - (r - a.length)];
            long y = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (x != y && x != 1 && y != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = Math.max(x, y);
        }
        return out;
    }

    static Tensor broadcastTo(Tensor x, long... shape) {
        long[] xs = x.shape();
        if (Arrays.equals(xs, shape)) return x;
        INDArray v = expand(x.value(), shape).dup('c');
        return Tensor.result(v, g -> x.accumulate(reduceTo(g, xs)), x);
    }
}
