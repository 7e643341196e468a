package io.peft4j.prefix;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PromptLearning;

/**
 * Prefix tuning (Li and Liang 2021): {@code n} trainable key/value positions in every attention layer. The
 * table {@code [n, 2·L·w]} holds, for row j viewed as {@code [2L, G, head_dim]}, layer l's key at slice 2l and
 * its value at 2l+1; G is the model's key/value heads and {@code w = G·head_dim} (the hidden size d for
 * multi-head attention; HF PEFT sizes prefixes so for grouped-query attention). With {@code prefixProjection} the
 * table is produced during training by Embedding(n, w) → Linear(w, h) → tanh → Linear(h, 2Lw) and only the table is
 * saved. Without it this is
 * also P-tuning v2's deep prompt tuning ({@link #deepPrompts}).
 */
public record PrefixTuningConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize, String taskType,
                                 PromptLearning.RecordedBase recorded) implements PeftConfig {
    public PrefixTuningConfig {
        if (numVirtualTokens <= 0) throw new IllegalArgumentException("num_virtual_tokens must be positive, not " + numVirtualTokens);
        if (prefixProjection && encoderHiddenSize <= 0) throw new IllegalArgumentException("encoder_hidden_size must be positive with prefix_projection");
        recorded = recorded == null ? PromptLearning.RecordedBase.NONE : recorded;
    }

    /** A flat trainable prefix table (no reparameterization). */
    public static PrefixTuningConfig of(int n) {
        return new PrefixTuningConfig(n, false, 0, null, null);
    }

    /** P-tuning v2's deep prompts: a prompt at every layer's keys and values, trained directly. */
    public static PrefixTuningConfig deepPrompts(int n) {
        return of(n);
    }

    /** Reparameterized through an MLP of hidden size {@code h} during training. */
    public static PrefixTuningConfig withProjection(int n, int h) {
        return new PrefixTuningConfig(n, true, h, null, null);
    }

    @Override
    public String peftType() {
        return "PREFIX_TUNING";
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = PromptLearning.json("PREFIX_TUNING", taskType, numVirtualTokens, base);
        n.put("token_dim", base.keyValueWidth());               // HF PEFT sizes prefixes by the key/value heads (#1901)
        n.put("num_attention_heads", base.keyValueHeads());
        n.put("encoder_hidden_size", prefixProjection ? encoderHiddenSize : (int) base.hidden());
        n.put("prefix_projection", prefixProjection);
        return n;
    }
}
