package io.peft4j.core.model;

import io.peft4j.core.hooks.ForwardContext;

/**
 * A causal language model that continues text: what generation ({@link io.peft4j.core.infer.Generator},
 * {@code peft generate}) needs, whatever the family ({@link Gpt2}, {@link Llama}).
 *
 * <pre>{@code
 * Decoder m = (Decoder) Models.load(dir, DataType.FLOAT);
 * KvCache cache = new KvCache(m.config().layers());
 * ModelOutput first = m.forward(Batch.of(promptIds), ForwardContext.inference(1), cache);   // the prompt, once
 * ModelOutput next = m.forward(Batch.of(new int[]{token}), ForwardContext.inference(1), cache); // one token
 * Tensor logits = m.lmLogits(next.hidden());                                                  // [1, 1, V]
 * }</pre>
 */
public interface Decoder extends TransformerModel {
    /**
     * Runs the decoder over {@code batch}, continuing after the positions in {@code cache} (null: no cache). On
     * the first call with an empty cache, prefixes and virtual tokens are added and cached, exactly as Hugging
     * Face's {@code past_key_values} holds a prefix; later calls feed only new tokens.
     */
    ModelOutput forward(Batch batch, ForwardContext ctx, KvCache cache);

    /** The end-of-sequence token the config names, or -1. */
    default int eosTokenId() {
        return config().eosTokenId();
    }
}
