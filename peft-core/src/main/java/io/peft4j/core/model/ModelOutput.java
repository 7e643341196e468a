package io.peft4j.core.model;

import io.peft4j.core.tensor.Tensor;

/**
 * A forward pass's result.
 *
 * @param hidden        final hidden states {@code [B, P + T, D]}
 * @param virtualTokens P, the virtual tokens an embedding hook prepended (0 without one)
 * @param attentionMask the mask over those {@code P + T} positions (1 = attended)
 */
public record ModelOutput(Tensor hidden, int virtualTokens, int[][] attentionMask) {
}
