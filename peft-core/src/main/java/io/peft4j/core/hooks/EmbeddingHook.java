package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#EMBEDDINGS}: receives the token embeddings {@code [B, T, D]} (word embeddings only,
 * before position and token-type embeddings are added) and returns {@code [B, P + T, D]}: the same
 * embeddings with {@code P >= 0} virtual tokens prepended. The model then gives the whole sequence
 * positions {@code 0..P+T-1}, token type 0 and attention-mask 1 to the virtual tokens, and reports
 * {@code P} in its output.
 */
@FunctionalInterface
public interface EmbeddingHook extends Hook {
    Tensor apply(Tensor tokenEmbeddings, ForwardContext ctx);
}
