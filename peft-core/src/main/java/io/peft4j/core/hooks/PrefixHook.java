package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#ATTENTION_PREFIX} (one site per layer): supplies {@link #length} extra key/value
 * positions that every query of that layer attends to (all of them, also under a causal mask), in the
 * rows the prefix {@link #appliesTo applies to}; those rows' real tokens then take positions {@code P..},
 * as with Hugging Face's {@code past_key_values}. In the other rows the prefix is masked out and their
 * positions count from 0, so they compute exactly as without it.
 */
public interface PrefixHook extends Hook {
    /**
     * The number of prefix positions P for this pass (0 when the module does not apply to it); must be the
     * same for every layer it is installed on.
     */
    int length(ForwardContext ctx);

    /** The rows that attend to this prefix, one flag per row; null: every row. */
    default boolean[] appliesTo(ForwardContext ctx) {
        return null;
    }

    /**
     * Keys and values for {@code layer}, each {@code [B, G, P, headDim]} (or {@code [1, G, P, headDim]} when every row's
     * are the same) with G the model's key/value heads
     * ({@code config().keyValueHeads()}: the attention heads for GPT-2 and BERT, fewer with grouped-query
     * attention, as HF PEFT sizes prefixes); rows the prefix does not apply to may hold anything: they are
     * masked out. Keys are used as given (a rotary model does not rotate them, as with cached keys).
     */
    KeyValue prefix(int layer, ForwardContext ctx);

    /** A layer's prefix keys and values. */
    record KeyValue(Tensor keys, Tensor values) {
    }
}
