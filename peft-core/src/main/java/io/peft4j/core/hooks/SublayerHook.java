package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

import java.util.function.UnaryOperator;

/**
 * At {@link SiteKind#ATTENTION_OUTPUT} and {@link SiteKind#FFN_OUTPUT}: receives the sublayer's input
 * {@code x [B, T, D]} (the residual stream), its output {@code h [B, T, D]} (after the output projection,
 * before the residual add) and the sublayer's layer norm ({@code norm}: BERT's post-LN; GPT-2's identity,
 * since its norms come before each sublayer). Returns the replacement for {@code h}; the model then
 * computes {@code norm(x + h')}. Bottleneck adapters: Houlsby {@code h + A(h)}, parallel
 * {@code h + s·A(x)}, Pfeiffer {@code h + A(norm(x + h))}.
 */
@FunctionalInterface
public interface SublayerHook extends Hook {
    Tensor apply(Tensor x, Tensor h, UnaryOperator<Tensor> norm, ForwardContext ctx);
}
