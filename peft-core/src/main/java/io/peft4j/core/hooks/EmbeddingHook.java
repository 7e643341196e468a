package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#EMBEDDINGS}: receives the token embeddings {@code [B, T, D]} (word embeddings only,
 * before position and token-type embeddings are added) and returns {@code [B, P + T, D]}: the same
 * embeddings with {@code P >= 0} virtual tokens prepended. The model gives them token type 0; in the rows
 * they {@link #appliesTo apply to} they are attended and numbered from position 0 (real tokens follow at
 * {@code P..}), in the other rows they are masked out and skipped by the numbering, so those rows compute
 * exactly as without them. The model reports the number of prepended positions in its output.
 *
 * <p>A hook may also replace the embeddings of chosen real-token positions and return the same length
 * ({@code P = 0}): a prompt template's trainable soft tokens do so, at the positions a
 * {@link ForwardContext#attachment ForwardContext attachment} names. Hooks run in the order they were added,
 * so such a hook finds the real tokens at the last {@code T} positions of what it receives.
 */
@FunctionalInterface
public interface EmbeddingHook extends Hook {
    Tensor apply(Tensor tokenEmbeddings, ForwardContext ctx);

    /** The rows whose virtual tokens are real, one flag per row; null: every row. */
    default boolean[] appliesTo(ForwardContext ctx) {
        return null;
    }

    /**
     * The virtual tokens {@code [n, d]} this hook prepends to the rows it {@link #appliesTo applies to}, when prepending
     * them is all {@link #apply} does; null (the default) when it does something else. The model may then lay the tokens
     * of several such hooks whose rows are disjoint (the adapters of a mixed batch) in the same positions, each row
     * reading its own hook's, instead of calling {@link #apply}; every row computes as it would with its hook alone.
     */
    default Tensor virtualTokens(ForwardContext ctx) {
        return null;
    }

    /** {@code tokens} ({@code [n, d]}) before every row of the embeddings {@code e} ({@code [B, T, d]}): {@code [B, n + T, d]}. */
    static Tensor prepend(Tensor tokens, Tensor e) {
        long n = tokens.size(0), d = tokens.size(1);
        return Ops.concat(1, Ops.broadcastTo(Ops.reshape(tokens, 1, n, d), e.size(0), n, d), e);
    }
}
