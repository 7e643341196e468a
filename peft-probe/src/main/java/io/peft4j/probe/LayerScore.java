package io.peft4j.probe;

import io.peft4j.core.head.Pooling;

/**
 * One probe's result: a layer, a pooling and a probe kind, scored on the dev set.
 *
 * <pre>{@code
 * LayerScore s = result.best(LayerScore.LINEAR);
 * System.out.println("layer " + s.layer() + " " + s.pooling() + ": " + s.accuracy());
 * }</pre>
 *
 * @param layer      hidden-state index (0 = embeddings)
 * @param pooling    how the layer's output was pooled
 * @param probe      {@link #LINEAR} or {@link #MLP}
 * @param accuracy   dev accuracy
 * @param macroF1    dev macro-F1
 * @param devLoss    dev mean cross-entropy at the kept parameters
 * @param iterations L-BFGS iterations (linear) or epochs (MLP) of the kept parameters
 * @param l2         the linear probe's L2 strength λ chosen on dev; NaN for the MLP probe
 */
public record LayerScore(int layer, Pooling pooling, String probe, double accuracy, double macroF1, double devLoss, int iterations, double l2) {
    /** The probe kinds: the linear (softmax regression) probe and the MLP probe. */
    public static final String LINEAR = "linear", MLP = "mlp";
}
