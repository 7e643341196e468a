package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

import static io.peft4j.core.tensor.OpSupport.contiguous;

/**
 * Normalisation, rotary embedding and softmax, and their backward: {@link Ops#layerNorm}, {@link Ops#rmsNorm},
 * {@link Ops#rotary}, {@link Ops#softmax}, {@link Ops#logSoftmax}.
 */
final class NormOps {
    private NormOps() {
    }

    static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
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

    static Tensor rmsNorm(Tensor x, Tensor gain, double eps) {
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

    static Tensor rotary(Tensor x, INDArray cos, INDArray sin) {
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

    static Tensor softmax(Tensor x) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray xv = contiguous(x.value());
        INDArray y = x.requiresGrad() ? Tensor.newSaved(xv.dataType(), xv.shape()) : xv.ulike();   // kept: no copy
        Nd4j.exec((CustomOp) new SoftMax(xv, y, -1));
        t.stop();
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(softmaxBackward(yk, g)), x);
    }

    static Tensor logSoftmax(Tensor x) {
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
}
