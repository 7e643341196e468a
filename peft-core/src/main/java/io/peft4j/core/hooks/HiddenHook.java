package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#FINAL_HIDDEN}: receives the final hidden states {@code [B, P + T, D]} (after GPT-2's
 * final layer norm; BERT's last layer output) and returns a tensor of the same shape. Heads read the model
 * output instead; this site is for modules that transform it. At {@link SiteKind#LAYER_OUTPUT}: the same for
 * one layer's output; a hook that only observes (a probe's feature extractor) returns its input, and copies
 * what it keeps, for the tensor's memory belongs to the pass.
 */
@FunctionalInterface
public interface HiddenHook extends Hook {
    Tensor apply(Tensor hidden, ForwardContext ctx);
}
