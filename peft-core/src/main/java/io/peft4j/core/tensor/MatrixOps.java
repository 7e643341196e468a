package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;

import static io.peft4j.core.tensor.OpSupport.contiguous;
import static io.peft4j.core.tensor.OpSupport.narrow;
import static io.peft4j.core.tensor.OpSupport.reduceTo;

/**
 * Matrix products and their backward: {@link Ops#matmul}, the linear layers ({@link Ops#linear},
 * {@link Ops#linearT}) and multi-head {@link Ops#attention}; also the GEMM entry points {@link Tensor} uses to
 * accumulate a product into a gradient.
 */
final class MatrixOps {
    private MatrixOps() {
    }

    static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
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

    /** {@code w} itself, or for a weight kept narrower (BF16, F16) than the compute {@code type}, a widened copy. */
    private static INDArray widened(INDArray w, DataType type) {
        if (w.dataType() == type) return w;
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE, "widen");
        INDArray c = w.castTo(type);
        t.stop();
        return c;
    }

    static Tensor linear(Tensor x, Tensor w, Tensor b, boolean outIn) {
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

    static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, INDArray bias) {
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

    /** {@link Ops#attention} composed of the ops: heads split, batched products, softmax, heads merged. */
    static Tensor attentionComposed(Tensor q, Tensor k, Tensor v, int heads, INDArray bias, double alpha) {
        long b = q.size(0), tq = q.size(1), tk = k.size(1), d = q.size(2), dh = d / heads;
        Tensor q3 = ShapeOps.reshape(ShapeOps.permute(ShapeOps.reshape(q, b, tq, heads, dh), 0, 2, 1, 3), b * heads, tq, dh);
        Tensor k3 = ShapeOps.reshape(ShapeOps.permute(ShapeOps.reshape(k, b, tk, heads, dh), 0, 2, 1, 3), b * heads, tk, dh);
        Tensor v3 = ShapeOps.reshape(ShapeOps.permute(ShapeOps.reshape(v, b, tk, heads, dh), 0, 2, 1, 3), b * heads, tk, dh);
        Tensor scores = ElementwiseOps.scale(matmul(q3, k3, false, true), alpha);
        if (bias != null) scores = ShapeOps.reshape(ElementwiseOps.add(ShapeOps.reshape(scores, b, heads, tq, tk), Tensor.constant(bias)), b * heads, tq, tk);
        Tensor out = ShapeOps.reshape(matmul(NormOps.softmax(scores), v3, false, false), b, heads, tq, dh);
        return ShapeOps.reshape(ShapeOps.permute(out, 0, 2, 1, 3), b, tq, d);
    }
}
