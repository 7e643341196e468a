package io.peft4j.core.hooks;

/**
 * A named place in a base model where a module can plug in.
 *
 * <p>Names follow the Hugging Face module paths of the architecture, so that method configs written for
 * HF PEFT ({@code target_modules: ["c_attn"]}, {@code ["query", "value"]}, {@code ["q_proj", "v_proj"]}) select
 * the same places: GPT-2 {@code h.3.attn.c_attn}, BERT {@code encoder.layer.3.attention.self.query}, Llama
 * {@code layers.3.self_attn.q_proj}. The non-linear sites are {@code embeddings}, {@code <layer>.attn.prefix} /
 * {@code <layer>.attention.self.prefix} / {@code <layer>.self_attn.prefix}, {@code <layer>.attn.output} /
 * {@code <layer>.attention.output} / {@code <layer>.self_attn.output}, {@code <layer>.mlp.output} /
 * {@code <layer>.output}, the layer outputs {@code embeddings.output} and {@code h.<i>} / {@code encoder.layer.<i>} /
 * {@code layers.<i>}, and {@code final}.
 *
 * @param name   the site's name, unique within a model
 * @param kind   what the site carries and which hook type it accepts
 * @param layer  the transformer layer (block) index, or -1 for sites outside the layers
 * @param in     for linear sites the input width; for attention-prefix sites the key/value width
 *               ({@code keyValueHeads · headDim}); else the hidden width
 * @param out    for linear sites the output width; for attention-prefix sites the key/value width; else the
 *               hidden width
 */
public record HookSite(String name, SiteKind kind, int layer, long in, long out) {
    /** The last dotted component of the name ({@code c_attn}, {@code query}), as HF PEFT matches targets. */
    public String leaf() {
        int i = name.lastIndexOf('.');
        return i < 0 ? name : name.substring(i + 1);
    }

    /** HF PEFT's target matching: the name equals the target or ends with {@code "." + target}. */
    public boolean matches(String target) {
        return name.equals(target) || name.endsWith("." + target);
    }
}
