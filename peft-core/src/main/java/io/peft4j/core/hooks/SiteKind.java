package io.peft4j.core.hooks;

/**
 * The kinds of hook site a base model exposes. Each kind has one hook interface; what a hook receives
 * and may return is documented there.
 */
public enum SiteKind {
    /** Token embeddings before positions/types are added: {@link EmbeddingHook} (prompt tuning, P-tuning). */
    EMBEDDINGS(EmbeddingHook.class),
    /** Per-layer attention keys/values: {@link PrefixHook} (prefix tuning, deep prompts). */
    ATTENTION_PREFIX(PrefixHook.class),
    /** Every linear projection: {@link LinearHook} (LoRA, IA3). */
    LINEAR(LinearHook.class),
    /** The attention sublayer's output, before the residual add: {@link SublayerHook} (bottleneck adapters). */
    ATTENTION_OUTPUT(SublayerHook.class),
    /** The feed-forward sublayer's output, before the residual add: {@link SublayerHook}. */
    FFN_OUTPUT(SublayerHook.class),
    /**
     * Each layer's output {@code [B, P + T, D]}, Hugging Face's {@code hidden_states}: the embeddings' output at
     * the site of layer -1 ({@code embeddings.output}), then each block's ({@code encoder.layer.<i>} /
     * {@code h.<i>} / {@code layers.<i>}); a pre-norm decoder's last block output is before its final norm. {@link HiddenHook} (probes read
     * them; a hook may also transform them).
     */
    LAYER_OUTPUT(HiddenHook.class),
    /** The final hidden states: {@link HiddenHook} (heads, probes). */
    FINAL_HIDDEN(HiddenHook.class);

    private final Class<? extends Hook> hookType;

    SiteKind(Class<? extends Hook> hookType) {
        this.hookType = hookType;
    }

    /** The hook interface this kind of site accepts. */
    public Class<? extends Hook> hookType() {
        return hookType;
    }
}
