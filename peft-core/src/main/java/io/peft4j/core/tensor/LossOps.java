package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import static io.peft4j.core.tensor.OpSupport.narrow;

/**
 * Lookups, sums, losses and dropout, and their backward: {@link Ops#embedding}, {@link Ops#sum(Tensor)},
 * {@link Ops#sum(Tensor, int)}, {@link Ops#crossEntropy(Tensor, int[], int, double)}, {@link Ops#mse},
 * {@link Ops#dropout}.
 */
final class LossOps {
    private LossOps() {
    }

    static Tensor embedding(Tensor w, int[] ids) {
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

    static Tensor sum(Tensor x) {
        long[] xs = x.shape();
        return Tensor.result(x.value().sum(), g -> x.accumulate(Nd4j.ones(x.dataType(), xs).muli(g.getDouble(0))), x);
    }

    static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double eps) {
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

    static Tensor mse(Tensor pred, INDArray target) {
        INDArray diff = pred.value().sub(target.castTo(pred.dataType()));
        long n = diff.length();
        INDArray value = Nd4j.scalar(pred.dataType(), diff.mul(diff).sumNumber().doubleValue() / n);
        if (!pred.requiresGrad()) return Tensor.result(value, null, pred);
        INDArray diffk = Tensor.save(diff);
        return Tensor.result(value, g -> pred.accumulate(diffk.mul(2.0 * g.getDouble(0) / n)), pred);
    }

    static Tensor sum(Tensor x, int dim) {
        long[] xs = x.shape();
        INDArray v = x.value().sum(dim);
        return Tensor.result(v, g -> {
            long[] kept = xs.clone();
            kept[dim] = 1;
            x.accumulate(g.reshape('c', kept).broadcast(xs).dup('c'));
        }, x);
    }

    static Tensor dropout(Tensor x, double p, long seed) {
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
