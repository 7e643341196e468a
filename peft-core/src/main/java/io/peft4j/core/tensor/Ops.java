package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

/**
 * The differentiable ops peft4j's models and methods are written in. Each op computes its value with ND4J
 * and, only when an input needs a gradient, records a backward closure that keeps just what that
 * backward needs (a frozen weight's input activation is never kept).
 *
 * <p>Shapes follow PyTorch conventions; linear weights are stored {@code [in, out]} so that
 * {@code y = x·W + b} is one GEMM on the flattened {@code [rows, in]} input.
 */
public final class Ops {
    private Ops() {
    }

    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    // ---------------------------------------------------------------- elementwise and broadcasting

    /** {@code a + b} with NumPy broadcasting. */
    public static Tensor add(Tensor a, Tensor b) {
        INDArray v = broadcastOp(a.value(), b.value(), '+');
        return Tensor.result(v, g -> {
            a.accumulate(reduceTo(g, a.shape()));
            b.accumulate(reduceTo(g, b.shape()));
        }, a, b);
    }

    /** {@code a - b} with NumPy broadcasting. */
    public static Tensor sub(Tensor a, Tensor b) {
        INDArray v = broadcastOp(a.value(), b.value(), '-');
        return Tensor.result(v, g -> {
            a.accumulate(reduceTo(g, a.shape()));
            b.accumulate(reduceTo(g.neg(), b.shape()));
        }, a, b);
    }

    /** {@code a * b} elementwise with NumPy broadcasting. */
    public static Tensor mul(Tensor a, Tensor b) {
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

    /** Whether {@code shape} is {@code [n]} or {@code [1, ..., 1, n]} with n the last dimension of {@code g}, g of rank 2 or more. */
    private static boolean isTrailingShape(long[] shape, INDArray g) {
        if (shape.length == 0 || shape.length > g.rank() || g.rank() < 2) return false;
        long n = g.size(g.rank() - 1);
        if (shape[shape.length - 1] != n) return false;
        for (int i = 0; i < shape.length - 1; i++) if (shape[i] != 1) return false;
        return true;
    }

    /** {@code s * a}. */
    public static Tensor scale(Tensor a, double s) {
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

    /** Whether {@code v} is a {@link #isTrailingShape trailing vector} of the larger {@code x}. */
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

    static long[] broadcastShape(long[] a, long[] b) {
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

    /** Sums a broadcast gradient back down to {@code shape}. */
    static INDArray reduceTo(INDArray g, long[] shape) {
        if (Arrays.equals(g.shape(), shape)) return g;
        if (isTrailingShape(shape, g) && FloatKernels.applies(g)) return FloatKernels.columnDot(g, null).reshape(shape);
        int extra = g.rank() - shape.length;
        int[] dims = new int[g.rank()];
        int n = 0;
        for (int i = 0; i < g.rank(); i++) {
            if (i < extra || (shape[i - extra] == 1 && g.size(i) != 1)) dims[n++] = i;
        }
        INDArray s = n == 0 ? g : g.sum(true, Arrays.copyOf(dims, n));
        return s.reshape(shape);
    }

    /** {@code x} broadcast (NumPy rules) to {@code shape}, as a contiguous copy; backward sums back. */
    public static Tensor broadcastTo(Tensor x, long... shape) {
        long[] xs = x.shape();
        if (Arrays.equals(xs, shape)) return x;
        INDArray v = expand(x.value(), shape).dup('c');
        return Tensor.result(v, g -> x.accumulate(reduceTo(g, xs)), x);
    }

    // ---------------------------------------------------------------- matrix products

    /**
     * Matrix product of rank-2 or batched rank-3 operands, {@code op(a)·op(b)} where op transposes the last
     * two dimensions when asked.
     */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        if (a.dataType() != b.dataType() && narrow(b.dataType()) && !b.requiresGrad() && a.rank() == 2 && b.rank() == 2 && !transA) {
            return matmulStored(a, b, transB);
        }
        INDArray av = a.value(), bv = b.value();
        INDArray v = mm(av, bv, transA, transB);
        INDArray keptB = a.requiresGrad() ? Tensor.save(bv) : null, keptA = b.requiresGrad() ? Tensor.save(av) : null;
        return Tensor.result(v, g -> {
            if (a.requiresGrad()) {
                a.accumulate(transA ? mm(keptB, g, transB, true) : mm(g, keptB, false, !transB));
            }
            if (b.requiresGrad()) {
                b.accumulate(transB ? mm(g, keptA, true, transA) : mm(keptA, g, !transA, false));
            }
        }, a, b);
    }

    static INDArray mm(INDArray a, INDArray b, boolean ta, boolean tb) {
        if (a.rank() == 2 && b.rank() == 2) {
            // a row-major result, allocated where the caller's workspace is: Nd4j.gemm(a, b, ta, tb) would
            // return a fresh column-major array that every following reshape copies again
            Profiler.Timer t = Profiler.start(Profiler.Kind.MATMUL);
            long m = ta ? a.size(1) : a.size(0), n = tb ? b.size(0) : b.size(1);
            INDArray out = Nd4j.createUninitialized(a.dataType(), new long[]{m, n}, 'c');
            gemm(contiguous(a), contiguous(b), out, ta, tb, 0.0);
            t.stop();
            return out;
        }
        Profiler.Timer t = Profiler.start(Profiler.Kind.MATMUL);
        INDArray ac = contiguous(a), bc = contiguous(b);
        INDArray out;
        if (BatchedGemm.applies(ac, bc)) {
            out = BatchedGemm.multiply(ac, bc, ta, tb);
        } else {
            out = Nd4j.matmul(ac, bc, ta, tb, false);
            long m = out.size(out.rank() - 2), n = out.size(out.rank() - 1), k = ta ? ac.size(ac.rank() - 2) : ac.size(ac.rank() - 1);
            Profiler.countGemm(m, n, k, out.length() / (m * n));
        }
        t.stop();
        return out;
    }

    /** Rows of a narrow frozen matrix widened at a time by {@link #matmulStored}: at most this many elements (16 MB of FP32). */
    private static final long WIDEN_CHUNK = 1 << 22;

    /**
     * {@code a·op(b)} for a frozen matrix b kept narrower (BF16, F16) than a: b is widened a block of its rows at a
     * time, never whole (an LM head over a large vocabulary would need gigabytes), in the forward and again in the
     * backward.
     */
    private static Tensor matmulStored(Tensor a, Tensor b, boolean transB) {
        INDArray av = contiguous(a.value()), bv = b.value();
        long m = av.size(0), rows = bv.size(0), cols = bv.size(1), step = Math.max(1, WIDEN_CHUNK / cols);
        long n = transB ? rows : cols;
        INDArray out = transB ? Nd4j.createUninitialized(av.dataType(), new long[]{m, n}, 'c') : Nd4j.zeros(av.dataType(), m, n);
        for (long r0 = 0; r0 < rows; r0 += step) {
            long r1 = Math.min(rows, r0 + step);
            INDArray block = widened(bv.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all()), av.dataType());
            if (transB) {       // b's rows are output columns
                out.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1)).assign(mm(av, block, false, true));
            } else {            // b's rows are the contracted dimension
                out.addi(mm(av.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1)).dup('c'), block, false, false));
            }
        }
        if (!a.requiresGrad()) return Tensor.result(out, null, a, b);
        return Tensor.result(out, g -> {
            INDArray gc = contiguous(g);
            INDArray da = transB ? Nd4j.zeros(gc.dataType(), m, cols) : Nd4j.createUninitialized(gc.dataType(), new long[]{m, rows}, 'c');
            for (long r0 = 0; r0 < rows; r0 += step) {
                long r1 = Math.min(rows, r0 + step);
                INDArray block = widened(bv.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all()), gc.dataType());
                if (transB) da.addi(mm(gc.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1)).dup('c'), block, false, false));
                else da.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r1)).assign(mm(gc, block, false, true));
            }
            a.accumulate(da);
        }, a, b);
    }

    /**
     * {@code x·op(w) + bias} row by row. For floats the bias rows are written first and the GEMM adds onto
     * them (beta = 1), which replaces the GEMM's zeroing pass: no separate bias pass over the result.
     */
    private static INDArray mmPlusBias(INDArray x, INDArray w, boolean tw, INDArray bias) {
        long m = x.size(0), n = tw ? w.size(0) : w.size(1);
        if (!FloatKernels.applies(x, w, bias) || bias.length() != n) {
            INDArray y = mm(x, w, false, tw);
            Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
            y.addiRowVector(bias);
            t.stop();
            return y;
        }
        Profiler.Timer t = Profiler.start(Profiler.Kind.MATMUL);
        INDArray out = Nd4j.createUninitialized(x.dataType(), new long[]{m, n}, 'c');
        FloatKernels.fillRows(out, bias);
        gemm(x, contiguous(w), out, false, tw, 1.0);
        t.stop();
        return out;
    }

    /**
     * {@code out = op(a)·op(b) + beta·out} into an existing dense 2-D {@code out}, timed as a product; false (and
     * nothing done) where the operands' types differ from out's.
     */
    static boolean gemmInto(INDArray a, INDArray b, INDArray out, boolean ta, boolean tb, double beta) {
        if (a.rank() != 2 || b.rank() != 2 || a.dataType() != out.dataType() || b.dataType() != out.dataType()) return false;
        Profiler.Timer t = Profiler.start(Profiler.Kind.MATMUL);
        gemm(contiguous(a), contiguous(b), out, ta, tb, beta);
        t.stop();
        return true;
    }

    /** {@code out = op(a)·op(b) + beta·out} for 2-D arrays: cblas directly where it applies, else ND4J's gemm. */
    private static void gemm(INDArray a, INDArray b, INDArray out, boolean ta, boolean tb, double beta) {
        if (BatchedGemm.available(a, b, out)) {
            BatchedGemm.gemm(a, b, out, ta, tb, beta);
        } else {
            Profiler.countGemm(out.size(0), out.size(1), ta ? a.size(0) : a.size(1), 1);
            Nd4j.gemm(a, b, out, ta, tb, 1.0, beta);
        }
    }

    private static INDArray contiguous(INDArray x) {
        return x.isView() && !(x.ordering() == 'c' && x.elementWiseStride() == 1) ? x.dup('c') : x;
    }

    /** {@code w} itself, or for a weight kept narrower (BF16, F16) than the compute {@code type}, a widened copy. */
    private static INDArray widened(INDArray w, DataType type) {
        if (w.dataType() == type) return w;
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE, "widen");
        INDArray c = w.castTo(type);
        t.stop();
        return c;
    }

    /** Whether {@code t} is a storage-only type (BF16, F16): arrays of it are widened before any arithmetic. */
    private static boolean narrow(DataType t) {
        return t == DataType.BFLOAT16 || t == DataType.HALF;
    }

    /**
     * A linear layer {@code y = x·W + b} over the last dimension: x {@code [..., in]}, W {@code [in, out]},
     * b {@code [out]} or null. When W is frozen, backward computes dX = dY·Wᵀ only and does not keep x.
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor b) {
        return linear(x, w, b, false);
    }

    /**
     * A linear layer whose weight is in PyTorch's {@code [out, in]} orientation (adapter and prompt-encoder
     * weights as their files store them): {@code y = x·Wᵀ + b}, one GEMM and an in-place bias add.
     */
    public static Tensor linearT(Tensor x, Tensor w, Tensor b) {
        return linear(x, w, b, true);
    }

    private static Tensor linear(Tensor x, Tensor w, Tensor b, boolean outIn) {
        long[] xs = x.shape();
        long in = w.size(outIn ? 1 : 0), out = w.size(outIn ? 0 : 1);
        if (xs[xs.length - 1] != in) {
            throw new IllegalArgumentException("linear: input " + Arrays.toString(xs) + " vs weight " + Arrays.toString(w.shape()));
        }
        INDArray x2 = contiguous(x.value()).reshape('c', x.value().length() / in, in);
        INDArray stored = w.value();
        if (stored.dataType() != x2.dataType() && w.requiresGrad()) {
            throw new IllegalStateException("linear: a trainable weight kept as " + stored.dataType() + " under " + x2.dataType() + " compute");
        }
        INDArray wc = widened(stored, x2.dataType());          // a narrower stored weight: an FP32 working copy, in scratch memory
        INDArray y = b == null ? mm(x2, wc, false, outIn) : mmPlusBias(x2, wc, outIn, contiguous(b.value()));
        long[] ys = xs.clone();
        ys[ys.length - 1] = out;
        INDArray wv = x.requiresGrad() ? Tensor.save(stored) : null;    // the stored array: widened again in backward, not kept wide
        INDArray keptX = w.requiresGrad() ? Tensor.save(x2) : null;
        return Tensor.result(y.reshape('c', ys), g -> {
            INDArray g2 = contiguous(g).reshape('c', g.length() / out, out);
            int[] live = liveRows(g2);
            if (x.requiresGrad()) linearInputGrad(x, g2, widened(wv, g2.dataType()), outIn, live, in);
            if (w.requiresGrad()) w.accumulate(linearWeightGrad(g2, keptX, outIn, live, w.shape()));
            if (b != null && b.requiresGrad()) b.accumulate(reduceTo(g2, b.shape()));
        }, x, w, b);
    }

    /**
     * The rows of a float gradient {@code g [rows, n]} that hold a non-zero, when they are at most a quarter of
     * all rows; null otherwise (or for other types). A classification head that pools one token per sequence
     * sends the last layer a gradient with B non-zero rows out of B·T: its linear layers' backward then
     * multiplies those rows only. A dense gradient costs one read per row to rule this out.
     */
    private static int[] liveRows(INDArray g) {
        if (!FloatKernels.applies(g) || g.size(0) < 8) return null;
        return FloatKernels.nonzeroRows(g, (int) (g.size(0) / 4));
    }

    /** Adds {@code dX = g·op(W)ᵀ} to x's gradient, computed on the live rows only when given (the others are zero). */
    private static void linearInputGrad(Tensor x, INDArray g, INDArray w, boolean outIn, int[] live, long in) {
        if (live == null) {
            x.accumulateProduct(g, w, false, !outIn);
            return;
        }
        INDArray dx = Nd4j.zeros(g.dataType(), g.size(0), in);
        if (live.length > 0) FloatKernels.scatterRows(mm(FloatKernels.gatherRows(g, live), w, false, !outIn), live, dx);
        x.accumulate(dx.reshape('c', x.shape()));
    }

    /** {@code dW = xᵀ·g} (or {@code gᵀ·x} for {@code [out, in]} weights), on the live rows only when given. */
    private static INDArray linearWeightGrad(INDArray g, INDArray x, boolean outIn, int[] live, long[] wShape) {
        if (live != null && !FloatKernels.applies(x)) live = null;
        if (live != null && live.length == 0) return Nd4j.zeros(g.dataType(), wShape);
        INDArray gr = live == null ? g : FloatKernels.gatherRows(g, live), xr = live == null ? x : FloatKernels.gatherRows(x, live);
        return outIn ? mm(gr, xr, true, false) : mm(xr, gr, true, false);
    }

    /**
     * Multi-head scaled dot-product attention, {@code softmax(Q_h·K_hᵀ/√dh + bias)·V_h} for every head h.
     * {@code q [B, Tq, H·dh]}, {@code k} and {@code v [B, Tk, H·dh]} hold the heads side by side in the last
     * dimension, as the projections make them; the result has q's shape, heads merged the same way.
     * {@code bias} is additive ({@code [B or 1, 1, Tq or 1, Tk]}, a large negative value where a key is
     * masked), shared by the heads, or null.
     *
     * <p>On the CPU backend (float or double) every head's products run on the arrays' memory, with no head
     * split or merge copies ({@link AttentionKernel}); elsewhere the same computation is composed of the ops
     * of this class. The backward keeps q, k, v (what it needs of them) and the probabilities.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, INDArray bias) {
        long[] qs = q.shape(), ks = k.shape();
        if (q.rank() != 3 || k.rank() != 3 || !Arrays.equals(ks, v.shape()) || qs[0] != ks[0] || qs[2] != ks[2] || qs[2] % heads != 0) {
            throw new IllegalArgumentException("attention: q " + Arrays.toString(qs) + ", k " + Arrays.toString(ks) + ", v "
                    + Arrays.toString(v.shape()) + " with " + heads + " heads");
        }
        double alpha = 1.0 / Math.sqrt(qs[2] / heads);
        INDArray qv = contiguous(q.value()), kv = contiguous(k.value()), vv = contiguous(v.value());
        INDArray bv = bias == null ? null : contiguous(bias.castTo(qv.dataType()));
        if (!BatchedGemm.available(qv, kv, vv) || qs[0] * heads * qs[1] * ks[1] > Integer.MAX_VALUE) {
            return attentionComposed(q, k, v, heads, bv, alpha);
        }
        AttentionKernel.Dims s = new AttentionKernel.Dims((int) qs[0], heads, (int) qs[1], (int) ks[1], (int) qs[2]);
        boolean grad = q.requiresGrad() || k.requiresGrad() || v.requiresGrad();
        long[] pShape = {(long) s.batch() * heads, s.tq(), s.tk()};
        INDArray p = grad ? Tensor.newSaved(qv.dataType(), pShape) : Nd4j.createUninitialized(qv.dataType(), pShape, 'c');
        Profiler.Timer t = Profiler.start(Profiler.Kind.MATMUL);
        AttentionKernel.scores(qv, kv, s, alpha, p);
        t.stop();
        t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        AttentionKernel.softmax(p, bv, s);
        t.stop();
        t = Profiler.start(Profiler.Kind.MATMUL);
        INDArray out = Nd4j.createUninitialized(qv.dataType(), qs, 'c');
        AttentionKernel.output(p, vv, s, out);
        t.stop();
        if (!grad) return Tensor.result(out, null, q, k, v);
        boolean scoreGrads = q.requiresGrad() || k.requiresGrad();
        INDArray pk = Tensor.save(p), qk = k.requiresGrad() ? Tensor.save(qv) : null, kk = q.requiresGrad() ? Tensor.save(kv) : null;
        INDArray vk = scoreGrads ? Tensor.save(vv) : null;
        return Tensor.result(out, g -> {
            INDArray go = contiguous(g);
            Profiler.Timer gt = Profiler.start(Profiler.Kind.MATMUL, "attentionGrad");
            INDArray dv = v.requiresGrad() ? AttentionKernel.valueGrad(pk, go, s) : null;
            INDArray dp = scoreGrads ? AttentionKernel.probabilityGrad(go, vk, s) : null;
            gt.stop();
            if (dv != null) v.accumulate(dv);
            if (!scoreGrads) return;
            gt = Profiler.start(Profiler.Kind.ELEMENTWISE, "attentionGrad");
            INDArray ds = AttentionKernel.softmaxGrad(pk, dp);
            gt.stop();
            gt = Profiler.start(Profiler.Kind.MATMUL, "attentionGrad");
            INDArray dq = q.requiresGrad() ? AttentionKernel.queryGrad(ds, kk, s, alpha) : null;
            INDArray dk = k.requiresGrad() ? AttentionKernel.keyGrad(ds, qk, s, alpha) : null;
            gt.stop();
            if (dq != null) q.accumulate(dq);
            if (dk != null) k.accumulate(dk);
        }, q, k, v);
    }

    /** {@link #attention} composed of this class's ops: heads split, batched products, softmax, heads merged. */
    static Tensor attentionComposed(Tensor q, Tensor k, Tensor v, int heads, INDArray bias, double alpha) {
        long b = q.size(0), tq = q.size(1), tk = k.size(1), d = q.size(2), dh = d / heads;
        Tensor q3 = reshape(permute(reshape(q, b, tq, heads, dh), 0, 2, 1, 3), b * heads, tq, dh);
        Tensor k3 = reshape(permute(reshape(k, b, tk, heads, dh), 0, 2, 1, 3), b * heads, tk, dh);
        Tensor v3 = reshape(permute(reshape(v, b, tk, heads, dh), 0, 2, 1, 3), b * heads, tk, dh);
        Tensor scores = scale(matmul(q3, k3, false, true), alpha);
        if (bias != null) scores = reshape(add(reshape(scores, b, heads, tq, tk), Tensor.constant(bias)), b * heads, tq, tk);
        Tensor out = reshape(matmul(softmax(scores), v3, false, false), b, heads, tq, dh);
        return reshape(permute(out, 0, 2, 1, 3), b, tq, d);
    }

    // ---------------------------------------------------------------- shape ops

    public static Tensor reshape(Tensor x, long... shape) {
        long[] xs = x.shape();
        INDArray v = contiguous(x.value()).reshape('c', shape);
        return Tensor.result(v, g -> x.accumulate(g.reshape('c', xs)), x);
    }

    /** Permutes dimensions and returns a contiguous copy. */
    public static Tensor permute(Tensor x, int... dims) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray v = x.value().permute(dims).dup('c');
        t.stop();
        int[] inverse = new int[dims.length];
        for (int i = 0; i < dims.length; i++) inverse[dims[i]] = i;
        return Tensor.result(v, g -> x.accumulate(g.permute(inverse).dup('c')), x);
    }

    /** The slice {@code [start, start+length)} along {@code dim}, as a contiguous copy. */
    public static Tensor narrow(Tensor x, int dim, long start, long length) {
        INDArray v = x.value().get(range(x.rank(), dim, start, length)).dup('c');
        long[] xs = x.shape();
        return Tensor.result(v, g -> {
            INDArray full = Nd4j.zeros(g.dataType(), xs);
            full.get(range(xs.length, dim, start, length)).assign(g);
            x.accumulate(full);
        }, x);
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex[] range(int rank, int dim, long start, long length) {
        org.nd4j.linalg.indexing.INDArrayIndex[] idx = new org.nd4j.linalg.indexing.INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) idx[i] = i == dim ? NDArrayIndex.interval(start, start + length) : NDArrayIndex.all();
        return idx;
    }

    /** Concatenates along {@code dim}. */
    public static Tensor concat(int dim, Tensor... ts) {
        INDArray[] vs = new INDArray[ts.length];
        for (int i = 0; i < ts.length; i++) vs[i] = contiguous(ts[i].value());
        INDArray v = Nd4j.concat(dim, vs);
        return Tensor.result(v, g -> {
            long off = 0;
            for (Tensor t : ts) {
                long len = t.size(dim);
                if (t.requiresGrad()) t.accumulate(g.get(range(g.rank(), dim, off, len)).dup('c'));
                off += len;
            }
        }, ts);
    }

    // ---------------------------------------------------------------- activations

    /** GELU variants: {@code ERF} (BERT's exact form) and {@code TANH} (GPT-2's {@code gelu_new}). */
    /** GELU's two forms: the exact one with erf, and the tanh approximation. */
    public enum Gelu {
        ERF, TANH;

        /**
         * The form a Hugging Face activation name ({@code hidden_act}, {@code activation_function}) denotes, or
         * null for a name that is not a GELU: {@code gelu} is the erf form; {@code gelu_new},
         * {@code gelu_pytorch_tanh} and {@code gelu_fast} are the tanh form.
         */
        public static Gelu forActivation(String name) {
            return switch (name) {
                case "gelu" -> ERF;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> TANH;
                default -> null;
            };
        }
    }

    /**
     * GELU. When a gradient is needed the derivative is computed now, straight into memory that outlives the
     * block, and kept instead of the input and the erf/tanh term (half the memory, no copy). Float arrays go
     * through one table-interpolating pass ({@code GeluKernel}); other types through ND4J ops, the output
     * computed in place over the erf/tanh term.
     */
    public static Tensor gelu(Tensor x, Gelu kind) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray xv = contiguous(x.value());
        boolean grad = x.requiresGrad();
        INDArray d = grad ? Tensor.newSaved(xv.dataType(), xv.shape()) : null;
        if (FloatKernels.applies(xv)) {
            INDArray y = Nd4j.createUninitialized(xv.dataType(), xv.shape(), 'c');
            GeluKernel.apply(xv, kind, y, d);
            t.stop();
            return geluResult(x, y, d);
        }
        var blas = Nd4j.getBlasWrapper().level1();
        INDArray aux;
        if (kind == Gelu.ERF) {
            aux = xv.mul(SQRT_HALF);
            Nd4j.exec(new Erf(aux, aux));                                       // erf(x/√2)
            if (grad) {
                d.assign(xv).muli(xv).muli(-0.5);
                Transforms.exp(d, false).muli(INV_SQRT_2PI).muli(xv);           // x·φ(x)
                aux.addi(1.0);
                blas.axpy(d.length(), 0.5, aux, d);                             // + Φ(x) = (1 + erf)/2
            } else {
                aux.addi(1.0);
            }
        } else {
            aux = xv.mul(xv).muli(0.044715).addi(1.0).muli(xv).muli(SQRT_2_OVER_PI);
            Transforms.tanh(aux, false);                                        // tanh(√(2/π)(x + 0.044715x³))
            if (grad) {
                d.assign(xv).muli(xv).muli(3 * 0.044715).addi(1.0).muli(SQRT_2_OVER_PI).muli(xv).muli(0.5);
                d.muli(aux.mul(aux).rsubi(1.0));                                // ½x·sech²(u)·du/dx
            }
            aux.addi(1.0);
            if (grad) blas.axpy(d.length(), 0.5, aux, d);                       // + (1 + tanh)/2
        }
        INDArray y = aux.muli(xv).muli(0.5);
        t.stop();
        return geluResult(x, y, d);
    }

    private static Tensor geluResult(Tensor x, INDArray y, INDArray d) {
        if (d == null) return Tensor.result(y, null, x);
        INDArray derivative = Tensor.save(d);
        return Tensor.result(y, g -> x.accumulate(g.mul(derivative)), x);
    }

    public static Tensor tanh(Tensor x) {
        INDArray y = Transforms.tanh(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(yk.mul(yk).rsubi(1.0).muli(g)), x);
    }

    public static Tensor sigmoid(Tensor x) {
        INDArray y = Transforms.sigmoid(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(yk.rsub(1.0).muli(yk).muli(g)), x);
    }

    /** {@code max(x, 0)}; the backward keeps the output (usually kept anyway, as the next layer's input), not a mask. */
    public static Tensor relu(Tensor x) {
        INDArray y = Transforms.relu(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(FloatKernels.applies(g, yk) && Arrays.equals(g.shape(), yk.shape())
                ? FloatKernels.reluGrad(g, yk) : g.mul(yk.gt(0).castTo(g.dataType()))), x);
    }

    /** SiLU / swish: {@code x·σ(x)}. */
    public static Tensor silu(Tensor x) {
        INDArray s = Transforms.sigmoid(x.value(), true);
        INDArray xv = x.value();
        INDArray y = xv.mul(s);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray sk = Tensor.save(s), xk = Tensor.save(xv);
        return Tensor.result(y, g -> x.accumulate(sk.rsub(1.0).muli(xk).addi(1.0).muli(sk).muli(g)), x);
    }

    // ---------------------------------------------------------------- normalisation, softmax

    /**
     * Layer normalisation over the last dimension with a learned scale and shift. For the backward pass it
     * keeps 1/σ and, when no γ is near zero, its own output y, from which x̂ = (y - β)/γ is recovered (y is
     * usually kept anyway, as the block's output); otherwise x̂ itself.
     */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        long[] xs = x.shape();
        long d = xs[xs.length - 1];
        boolean grad = x.requiresGrad() || gamma.requiresGrad() || beta.requiresGrad();
        INDArray x2 = contiguous(x.value()).reshape('c', x.value().length() / d, d);
        INDArray gam = contiguous(gamma.value()), bet = contiguous(beta.value());
        boolean fromOutput = grad && Transforms.abs(gam, true).minNumber().doubleValue() > 1e-2;
        INDArray y, xhat, rstd;
        if (FloatKernels.applies(x2, gam, bet)) {
            long rows = x2.size(0);
            y = fromOutput ? Tensor.newSaved(x2.dataType(), rows, d) : Nd4j.createUninitialized(x2.dataType(), new long[]{rows, d}, 'c');
            xhat = grad && !fromOutput ? Nd4j.createUninitialized(x2.dataType(), new long[]{rows, d}, 'c') : null;
            rstd = grad ? Nd4j.createUninitialized(x2.dataType(), new long[]{rows, 1}, 'c') : null;
            LayerNormKernel.forward(x2, gam, bet, eps, y, xhat, rstd);
        } else {
            INDArray xc = x2.subColumnVector(x2.mean(1));
            INDArray var = xc.mul(xc).mean(1);
            rstd = Transforms.pow(var.addi(eps), -0.5, false).reshape(var.length(), 1);
            xhat = xc.muliColumnVector(rstd);
            y = xhat.mulRowVector(gam).addiRowVector(bet);
            if (fromOutput) xhat = null;
        }
        t.stop();
        if (!grad) return Tensor.result(y.reshape('c', xs), null, x);
        INDArray gv = Tensor.save(gam), bv = fromOutput ? Tensor.save(bet) : null;
        INDArray xhatk = fromOutput ? null : Tensor.save(xhat), yk = fromOutput ? Tensor.save(y) : null;
        INDArray rstdk = x.requiresGrad() ? Tensor.save(rstd) : null;
        return Tensor.result(y.reshape('c', xs), g -> layerNormBackward(g, d, xs, x, gamma, beta, gv, bv, xhatk, yk, rstdk), x, gamma, beta);
    }

    private static void layerNormBackward(INDArray g, long d, long[] xs, Tensor x, Tensor gamma, Tensor beta,
                                          INDArray gv, INDArray bv, INDArray xhat, INDArray y, INDArray rstd) {
        INDArray g2 = contiguous(g).reshape('c', g.length() / d, d);
        boolean kernel = x.requiresGrad() && FloatKernels.applies(g2, gv, xhat != null ? xhat : y, rstd)
                && (bv == null || FloatKernels.applies(bv));
        if (kernel) {
            INDArray dx = Nd4j.createUninitialized(g2.dataType(), g2.shape(), 'c');
            LayerNormKernel.backward(g2, gv, bv, xhat, y, rstd, dx);
            x.accumulate(dx.reshape('c', xs));
        }
        if (xhat == null && (!kernel || gamma.requiresGrad())) xhat = y.subRowVector(bv).diviRowVector(gv);
        if (x.requiresGrad() && !kernel) {
            INDArray dxhat = g2.mulRowVector(gv);
            INDArray m1 = dxhat.mean(1).reshape(dxhat.size(0), 1);
            INDArray m2 = dxhat.mul(xhat).mean(1).reshape(dxhat.size(0), 1);
            INDArray dx = dxhat.subiColumnVector(m1).subi(xhat.mulColumnVector(m2)).muliColumnVector(rstd);
            x.accumulate(dx.reshape('c', xs));
        }
        if (gamma.requiresGrad()) gamma.accumulate(g2.mul(xhat).sum(0));
        if (beta.requiresGrad()) beta.accumulate(g2.sum(0));
    }

    /**
     * RMS normalisation over the last dimension with a learned gain (Zhang and Sennrich 2019; Llama's RMSNorm):
     * {@code y = g ⊙ x / sqrt(mean(x²) + eps)}. The backward keeps {@code x̂ = x / rms} and {@code 1/rms}:
     * {@code dx = (dx̂ - x̂·mean(dx̂ ⊙ x̂)) / rms} with {@code dx̂ = dy ⊙ g}, {@code dg = Σ_rows dy ⊙ x̂}.
     */
    public static Tensor rmsNorm(Tensor x, Tensor gain, double eps) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        long[] xs = x.shape();
        long d = xs[xs.length - 1], rows = x.value().length() / d;
        INDArray x2 = contiguous(x.value()).reshape('c', rows, d);
        INDArray g = contiguous(gain.value());
        INDArray rstd = Transforms.pow(x2.mul(x2).mean(1).reshape(rows, 1).addi(eps), -0.5, false);
        INDArray xhat = x2.mulColumnVector(rstd);
        INDArray y = xhat.mulRowVector(g);
        t.stop();
        if (!x.requiresGrad() && !gain.requiresGrad()) return Tensor.result(y.reshape('c', xs), null, x, gain);
        INDArray xhatk = Tensor.save(xhat), gk = Tensor.save(g), rstdk = x.requiresGrad() ? Tensor.save(rstd) : null;
        return Tensor.result(y.reshape('c', xs), grad -> {
            INDArray g2 = contiguous(grad).reshape('c', rows, d);
            if (gain.requiresGrad()) gain.accumulate(g2.mul(xhatk).sum(0).reshape(gain.shape()));
            if (x.requiresGrad()) {
                INDArray dxhat = g2.mulRowVector(gk);
                INDArray m = dxhat.mul(xhatk).mean(1).reshape(rows, 1);
                x.accumulate(dxhat.subi(xhatk.mulColumnVector(m)).muliColumnVector(rstdk).reshape('c', xs));
            }
        }, x, gain);
    }

    /**
     * Rotary position embedding in the rotate-half convention (Su et al. 2021, as Hugging Face's Llama applies it):
     * x {@code [..., H·dh]} holds H heads side by side; in every head the pair {@code (x_i, x_{i+dh/2})} of row r is
     * rotated by the angle whose cosine and sine are {@code cos[r, i]} and {@code sin[r, i]} ({@code [rows, dh/2]},
     * rows the flattened leading dimensions): {@code (x_i cos - x_{i+dh/2} sin, x_{i+dh/2} cos + x_i sin)}. The
     * backward rotates the gradient back (the transpose); it keeps only cos and sin.
     */
    public static Tensor rotary(Tensor x, INDArray cos, INDArray sin) {
        long[] xs = x.shape();
        long width = xs[xs.length - 1], rows = x.value().length() / width, half = cos.size(1);
        if (cos.size(0) != rows || width % (2 * half) != 0 || !Arrays.equals(cos.shape(), sin.shape())) {
            throw new IllegalArgumentException("rotary: x " + Arrays.toString(xs) + " with cos/sin " + Arrays.toString(cos.shape()));
        }
        INDArray y = rotate(contiguous(x.value()).reshape('c', rows, width / (2 * half), 2 * half), cos, sin, false).reshape('c', xs);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray ck = Tensor.save(cos), sk = Tensor.save(sin);
        return Tensor.result(y, g -> x.accumulate(rotate(contiguous(g).reshape('c', rows, width / (2 * half), 2 * half), ck, sk, true)
                .reshape('c', xs)), x);
    }

    /** Rotates every head of {@code x3 [rows, H, dh]} by the angles of its row, or back by them ({@code inverse}). */
    private static INDArray rotate(INDArray x3, INDArray cos, INDArray sin, boolean inverse) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        long rows = x3.size(0), heads = x3.size(1), dh = x3.size(2), half = dh / 2;
        INDArray c = cos.reshape('c', rows, 1, half).broadcast(rows, heads, half);
        INDArray s = sin.reshape('c', rows, 1, half).broadcast(rows, heads, half);
        INDArray x1 = x3.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, half));
        INDArray x2 = x3.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(half, dh));
        INDArray out = Nd4j.createUninitialized(x3.dataType(), new long[]{rows, heads, dh}, 'c');
        INDArray first = x1.mul(c), second = x2.mul(c);
        if (inverse) {
            first.addi(x2.mul(s));
            second.subi(x1.mul(s));
        } else {
            first.subi(x2.mul(s));
            second.addi(x1.mul(s));
        }
        out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, half)).assign(first);
        out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(half, dh)).assign(second);
        t.stop();
        return out;
    }

    /** Softmax over the last dimension. */
    public static Tensor softmax(Tensor x) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray xv = contiguous(x.value());
        INDArray y = x.requiresGrad() ? Tensor.newSaved(xv.dataType(), xv.shape()) : xv.ulike();   // kept: no copy
        Nd4j.exec((CustomOp) new SoftMax(xv, y, -1));
        t.stop();
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(softmaxBackward(yk, g)), x);
    }

    /**
     * Log-softmax over the last dimension, {@code y = x - max - log Σ exp(x - max)} row by row (stable for any
     * range of x). The backward {@code g - exp(y) Σ_j g_j} keeps only y.
     */
    public static Tensor logSoftmax(Tensor x) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray xv = contiguous(x.value());
        long n = xv.size(xv.rank() - 1);
        INDArray x2 = xv.reshape('c', xv.length() / n, n);
        INDArray shifted = x2.subColumnVector(x2.max(true, 1));
        INDArray lse = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        INDArray y = shifted.subiColumnVector(lse).reshape('c', xv.shape());
        t.stop();
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> {
            INDArray g2 = contiguous(g).reshape('c', g.length() / n, n);
            INDArray p = Transforms.exp(yk.reshape('c', yk.length() / n, n), true);
            x.accumulate(g2.sub(p.muliColumnVector(g2.sum(true, 1))).reshape('c', yk.shape()));
        }, x);
    }

    /** {@code y ⊙ (g - Σ_j g_j y_j)} row by row. */
    static INDArray softmaxBackward(INDArray y, INDArray g) {
        long n = y.size(y.rank() - 1);
        INDArray y2 = y.reshape('c', y.length() / n, n);
        INDArray gy = contiguous(g).reshape('c', y.length() / n, n).mul(y2);
        INDArray s = gy.sum(1);                                    // Σ_j g_j y_j per row
        return gy.subi(y2.mulColumnVector(s.reshape(s.length(), 1))).reshape('c', y.shape());
    }

    // ---------------------------------------------------------------- lookups and losses

    /** Rows {@code ids} of the table {@code w [V, D]}, shape {@code [ids.length, D]}. */
    public static Tensor embedding(Tensor w, int[] ids) {
        long v = w.size(0);
        for (int id : ids) {
            if (id < 0 || id >= v) throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + v + ")");
        }
        INDArray out = Nd4j.pullRows(w.value(), 1, ids);
        if (narrow(out.dataType())) out = out.castTo(DataType.FLOAT);      // a table kept in BF16 / F16 gives FP32 rows
        return Tensor.result(out, g -> {
            INDArray dw = Nd4j.zeros(w.dataType(), w.shape());
            for (int i = 0; i < ids.length; i++) dw.getRow(ids[i]).addi(g.getRow(i));
            w.accumulate(dw);
        }, w);
    }

    /** Sum of all elements, as a scalar tensor. */
    public static Tensor sum(Tensor x) {
        long[] xs = x.shape();
        return Tensor.result(x.value().sum(), g -> x.accumulate(Nd4j.ones(x.dataType(), xs).muli(g.getDouble(0))), x);
    }

    /**
     * Mean cross-entropy of {@code logits [N, V]} against {@code targets}; rows whose target equals
     * {@code ignoreIndex} are left out (PyTorch's convention, usually -100).
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        return crossEntropy(logits, targets, ignoreIndex, 0.0);
    }

    /**
     * Cross-entropy with label smoothing {@code eps} as PyTorch defines it: the target distribution is
     * {@code (1 - eps)·onehot + eps/V}, averaged over the rows whose target is not {@code ignoreIndex}.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double eps) {
        INDArray z = logits.value();
        long n = z.size(0), vocab = z.size(1);
        if (targets.length != n) throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for " + n + " rows");
        if (eps < 0 || eps >= 1) throw new IllegalArgumentException("label smoothing " + eps + " outside [0, 1)");
        INDArray max = z.max(true, 1);
        INDArray shifted = z.subColumnVector(max);
        INDArray p = Transforms.exp(shifted, true);
        INDArray sumExp = p.sum(true, 1);
        p.diviColumnVector(sumExp);
        INDArray lse = Transforms.log(sumExp, true);
        INDArray meanShifted = eps > 0 ? shifted.mean(1) : null;
        double loss = 0;
        int count = 0;
        for (int i = 0; i < n; i++) {
            int t = targets[i];
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("target " + t + " outside [0, " + vocab + ")");
            double l = lse.getDouble(i, 0);
            loss -= (1 - eps) * (shifted.getDouble(i, t) - l);
            if (eps > 0) loss -= eps * (meanShifted.getDouble(i) - l);
            count++;
        }
        final int c = Math.max(count, 1);
        INDArray value = Nd4j.scalar(z.dataType(), loss / c);
        if (!logits.requiresGrad()) return Tensor.result(value, null, logits);
        INDArray pk = Tensor.save(p);
        return Tensor.result(value, g -> {
            INDArray d = pk.dup();
            if (eps > 0) d.subi(eps / vocab);
            for (int i = 0; i < n; i++) {
                if (targets[i] == ignoreIndex) d.getRow(i).assign(0);
                else d.putScalar(i, targets[i], d.getDouble(i, targets[i]) - (1 - eps));
            }
            logits.accumulate(d.muli(g.getDouble(0) / c));
        }, logits);
    }

    /** Mean squared error of {@code pred} against {@code target} (same shape), averaged over all elements. */
    public static Tensor mse(Tensor pred, INDArray target) {
        INDArray diff = pred.value().sub(target.castTo(pred.dataType()));
        long n = diff.length();
        INDArray value = Nd4j.scalar(pred.dataType(), diff.mul(diff).sumNumber().doubleValue() / n);
        if (!pred.requiresGrad()) return Tensor.result(value, null, pred);
        INDArray diffk = Tensor.save(diff);
        return Tensor.result(value, g -> pred.accumulate(diffk.mul(2.0 * g.getDouble(0) / n)), pred);
    }

    /** Sum over dimension {@code dim}, which is removed from the shape. */
    public static Tensor sum(Tensor x, int dim) {
        long[] xs = x.shape();
        INDArray v = x.value().sum(dim);
        return Tensor.result(v, g -> {
            long[] kept = xs.clone();
            kept[dim] = 1;
            x.accumulate(g.reshape('c', kept).broadcast(xs).dup('c'));
        }, x);
    }

    /**
     * Inverted dropout: zeroes each element with probability {@code p} and scales the rest by
     * {@code 1/(1-p)}. The mask comes from a Java generator seeded with {@code seed}, so a run is
     * reproducible on any backend. {@code p == 0} returns {@code x} itself.
     */
    public static Tensor dropout(Tensor x, double p, long seed) {
        if (p == 0) return x;
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout probability " + p + " outside [0, 1)");
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        long n = x.value().length();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("dropout on more than 2^31 elements");
        float[] m = new float[(int) n];
        for (int i = 0; i < m.length; i++) m[i] = rng.nextDouble() < p ? 0f : 1f;
        // 0/1 is exact in every type; the scale 1/(1-p) is then applied in the tensor's own precision
        INDArray mask = Nd4j.create(m, x.shape(), 'c').castTo(x.dataType()).muli(1.0 / (1.0 - p));
        INDArray y = x.value().mul(mask);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray maskk = Tensor.save(mask);
        return Tensor.result(y, g -> x.accumulate(g.mul(maskk)), x);
    }
}
