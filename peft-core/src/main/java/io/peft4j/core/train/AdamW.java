package io.peft4j.core.train;

import io.peft4j.core.tensor.AdamWKernel;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter 2019) as PyTorch implements it: bias-corrected moments and decoupled
 * weight decay {@code p -= lr·λ·p}, applied to matrices only (biases, norms and vectors are not decayed,
 * as Hugging Face's Trainer does). State exists only for the tensors it is given: trainable ones.
 */
public final class AdamW implements Optimizer {
    private final double beta1, beta2, eps, weightDecay;
    private final Map<String, INDArray> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private INDArray scratch;   // shared by the parameters the fused kernel does not take: one array of the largest one's size
    private long step;

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /**
     * Allocates the moments, the scratch array (if any parameter needs it) and every parameter's gradient array before training starts,
     * so that none of the long-lived arrays is allocated in the middle of the first pass.
     */
    @Override
    public void reserve(Map<String, Tensor> params) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            reserveScratch(params);
            for (var e : params.entrySet()) {
                moment(m, e.getKey(), e.getValue().value());
                moment(v, e.getKey(), e.getValue().value());
                e.getValue().reserveGrad();
            }
        }
    }

    /** The scratch array for the parameters that the fused kernel does not take (not float): none when all are float. */
    private void reserveScratch(Map<String, Tensor> params) {
        for (Tensor p : params.values()) {
            if (p.dataType() != DataType.FLOAT) scratch(p.value());
        }
    }

    /**
     * One update of every parameter that has a gradient, at learning rate {@code lr}, in place. Float
     * parameters take one fused pass each ({@link AdamWKernel}); others use ND4J's BLAS axpy and in-place
     * transforms with one scratch array shared by all parameters. Either way a step allocates nothing: fresh
     * arrays the size of the model on every step cost more than the update.
     */
    @Override
    public void step(Map<String, Tensor> params, double lr) {
        step++;
        double c1 = 1 - Math.pow(beta1, step), c2 = 1 - Math.pow(beta2, step);
        var blas = Nd4j.getBlasWrapper().level1();
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (var e : params.entrySet()) {
                Tensor p = e.getValue();
                INDArray g = p.grad();
                if (g == null) continue;
                INDArray w = p.value();
                INDArray mi = moment(m, e.getKey(), w), vi = moment(v, e.getKey(), w);
                boolean decayed = weightDecay > 0 && w.rank() >= 2;
                if (AdamWKernel.applies(w, g, mi, vi)) {
                    AdamWKernel.update(w, g, mi, vi, (float) (decayed ? 1 - lr * weightDecay : 1), (float) beta1, (float) beta2,
                            (float) (lr / c1), (float) c2, (float) eps);
                    continue;
                }
                INDArray tmp = scratch(w);
                INDArray gc = g.ordering() == 'c' && !g.isView() ? g : g.dup('c');
                if (decayed) w.muli(1 - lr * weightDecay);
                mi.muli(beta1);
                blas.axpy(mi.length(), 1 - beta1, gc, mi);                  // m = β1 m + (1-β1) g
                tmp.assign(gc).muli(gc);
                vi.muli(beta2);
                blas.axpy(vi.length(), 1 - beta2, tmp, vi);                 // v = β2 v + (1-β2) g²
                tmp.assign(vi).muli(1 / c2);
                Transforms.sqrt(tmp, false).addi(eps).rdivi(mi);           // tmp = m / (√(v/c2) + ε)
                blas.axpy(w.length(), -lr / c1, tmp, w);                    // w -= lr/c1 · tmp
            }
        }
    }

    /** The moment of parameter {@code key} in {@code moments}, zeros the first time. */
    private static INDArray moment(Map<String, INDArray> moments, String key, INDArray w) {
        return moments.computeIfAbsent(key, k -> Nd4j.zeros(w.dataType(), w.shape()));
    }

    /** The shared scratch array viewed in {@code w}'s shape; (re)allocated outside any workspace when too small. */
    private INDArray scratch(INDArray w) {
        if (scratch == null || scratch.length() < w.length() || scratch.dataType() != w.dataType()) {
            try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                scratch = Nd4j.createUninitialized(w.dataType(), new long[]{Math.max(w.length(), scratch == null ? 0 : scratch.length())}, 'c');
            }
        }
        return scratch.get(NDArrayIndex.interval(0, w.length())).reshape('c', w.shape());
    }

    /** Bytes of the optimizer's arrays: both moments of every parameter and the shared scratch array. */
    public long memoryBytes() {
        long n = scratch == null ? 0 : scratch.length() * scratch.dataType().width();
        for (INDArray a : m.values()) n += a.length() * a.dataType().width();
        for (INDArray a : v.values()) n += a.length() * a.dataType().width();
        return n;
    }

    @Override
    public long stepCount() {
        return step;
    }

    /** The moments as {@code m/<name>} and {@code v/<name>}, for checkpoints. */
    @Override
    public Map<String, INDArray> state() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        m.forEach((k, a) -> out.put("m/" + k, a));
        v.forEach((k, a) -> out.put("v/" + k, a));
        return out;
    }

    /** Restores {@link #state()} and the step count. */
    @Override
    public void load(Map<String, INDArray> state, long steps) {
        m.clear();
        v.clear();
        state.forEach((k, a) -> {
            if (k.startsWith("m/")) m.put(k.substring(2), a.dup());
            else if (k.startsWith("v/")) v.put(k.substring(2), a.dup());
        });
        step = steps;
    }
}
