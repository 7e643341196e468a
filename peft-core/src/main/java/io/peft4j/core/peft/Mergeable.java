package io.peft4j.core.peft;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The capability of an {@link Adapter} whose whole effect is a change of the base model's linear layers, so that it
 * can be folded into their weights (Hugging Face PEFT's {@code merge_adapter} / {@code merge_and_unload}): LoRA adds
 * {@code s·B·A} to a weight, IA3 scales a weight's rows or columns. Each method implements its own math here, so that
 * {@link Merging} merges any adapter without knowing its method; adapters that add positions or modules (prompts,
 * prefixes, bottleneck adapters) do not implement it.
 *
 * <p>Weights are given in the orientation the models compute with, {@code [in, out]} ({@code y = x·W + b}), whatever
 * the checkpoint's orientation: Hugging Face's {@code nn.Linear} stores {@code [out, in]}, GPT-2's {@code Conv1D}
 * {@code [in, out]}; {@link io.peft4j.core.model.TransformerModel#huggingFaceStateDict} turns them back on writing.
 *
 * <pre>{@code
 * Adapter a = model.adapter("default");
 * if (a instanceof Mergeable) Merging.merge(model, "default");    // W ← W + s·(B·A)ᵀ; the hooks now apply to no rows
 * }</pre>
 */
public interface Mergeable {
    /** Folds this adapter's change into {@code weights} (in place). {@link Merging} calls it once per merge. */
    void merge(LinearWeights weights);

    /** Takes the change {@link #merge} made back out of {@code weights} (in place), up to rounding. */
    void unmerge(LinearWeights weights);

    /** The base model's frozen linear layers, by hook-site name ({@code h.0.attn.c_attn}). */
    interface LinearWeights {
        /** The weight of the linear layer at {@code site}, {@code [in, out]}, to be changed in place. */
        INDArray weight(String site);

        /** Its bias {@code [out]}, to be changed in place, or null when the layer has none. */
        INDArray bias(String site);
    }
}
