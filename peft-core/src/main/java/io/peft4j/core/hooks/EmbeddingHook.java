package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#EMBEDDINGS}: receives the token embeddings {@code [B, T, D]} (word embeddings only,
 * before position and token-type embeddings are added) and returns {@code [B, P + T, D]}: the same
 * embeddings with {@code P >= 0} virtual tokens prepended. The model gives them token type 0; in the rows
 * they {@link #appliesTo apply to} they are attended and numbered from position 0 (real tokens follow at
 * {@code P..}), in the other rows they are masked out and skipped by the numbering, so those rows compute
 * exactly as without them. The model reports the number of prepended positions in its output.
 */
@FunctionalInterface
public interface EmbeddingHook extends Hook {
    Tensor apply(Tensor tokenEmbeddings, ForwardContext ctx);

    /** The rows whose virtual tokens are real, one flag per row; null: every row. */
    default boolean[] appliesTo(ForwardContext ctx) {
        return null;
    }
}
