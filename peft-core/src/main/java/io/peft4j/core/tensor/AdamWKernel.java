package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.FloatBuffer;

import static io.peft4j.core.tensor.FloatKernels.buf;
import static io.peft4j.core.tensor.FloatKernels.off;

/**
 * One AdamW update of a float parameter in a single pass over its four arrays, split over the cores. ND4J
 * needs eleven ops per parameter for the same (scale, axpy, square, sqrt, divide...), each a pass over the
 * parameter and a native call: for LoRA's many small tensors the calls' fixed cost dominates, for full
 * fine-tuning's 110 M parameters the passes' memory traffic does. Either way one pass does the work of eleven.
 */
public final class AdamWKernel {
    private AdamWKernel() {
    }

    /** Whether {@link #update} applies to these arrays: float, dense, row-major, all of one length. */
    public static boolean applies(INDArray w, INDArray g, INDArray m, INDArray v) {
        return FloatKernels.applies(w, g, m, v) && g.length() == w.length() && m.length() == w.length() && v.length() == w.length();
    }

    /**
     * In place, element by element: {@code w *= decay}; {@code m = β1·m + (1-β1)·g}; {@code v = β2·v + (1-β2)·g²};
     * {@code w -= step·m / (√(v / c2) + ε)}, with {@code step = lr / c1} and c1, c2 the bias corrections.
     */
    public static void update(INDArray w, INDArray g, INDArray m, INDArray v,
                              float decay, float beta1, float beta2, float step, float c2, float eps) {
        FloatBuffer wb = buf(w), gb = buf(g), mb = buf(m), vb = buf(v);
        int wo = off(w), go = off(g), mo = off(m), vo = off(v);
        float a1 = 1 - beta1, a2 = 1 - beta2, inv2 = 1 / c2;
        FloatKernels.split((int) w.length(), 1 << 16, (from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gb.get(go + i);
                float mi = beta1 * mb.get(mo + i) + a1 * gi;
                float vi = beta2 * vb.get(vo + i) + a2 * gi * gi;
                mb.put(mo + i, mi);
                vb.put(vo + i, vi);
                wb.put(wo + i, decay * wb.get(wo + i) - step * mi / ((float) Math.sqrt(vi * inv2) + eps));
            }
        });
    }
}
