package io.peft4j.core.train;

import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter 2019) as PyTorch implements it: bias-corrected moments and decoupled
 * weight decay {@code p -= lr·λ·p}, applied to matrices only (biases, norms and vectors are not decayed,
 * as Hugging Face's Trainer does). State exists only for the tensors it is given: trainable ones.
 */
public final class AdamW {
    private final double beta1, beta2, eps, weightDecay;
    private final Map<String, INDArray> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private long step;

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** One update of every parameter that has a gradient, at learning rate {@code lr}. */
    public void step(Map<String, Tensor> params, double lr) {
        step++;
        double c1 = 1 - Math.pow(beta1, step), c2 = 1 - Math.pow(beta2, step);
        for (var e : params.entrySet()) {
            Tensor p = e.getValue();
            INDArray g = p.grad();
            if (g == null) continue;
            INDArray w = p.value();
            INDArray mi = m.computeIfAbsent(e.getKey(), k -> Nd4j.zeros(w.dataType(), w.shape()));
            INDArray vi = v.computeIfAbsent(e.getKey(), k -> Nd4j.zeros(w.dataType(), w.shape()));
            if (weightDecay > 0 && w.rank() >= 2) w.muli(1 - lr * weightDecay);
            mi.muli(beta1).addi(g.mul(1 - beta1));
            vi.muli(beta2).addi(g.mul(g).muli(1 - beta2));
            INDArray denom = Transforms.sqrt(vi.div(c2), false).addi(eps);
            w.subi(mi.div(denom).muli(lr / c1));
        }
    }

    public long stepCount() {
        return step;
    }

    /** The moments as {@code m/<name>} and {@code v/<name>}, for checkpoints. */
    public Map<String, INDArray> state() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        m.forEach((k, a) -> out.put("m/" + k, a));
        v.forEach((k, a) -> out.put("v/" + k, a));
        return out;
    }

    /** Restores {@link #state()} and the step count. */
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
