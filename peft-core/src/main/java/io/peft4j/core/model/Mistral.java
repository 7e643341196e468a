package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Mistral (Jiang et al. 2023) as Hugging Face's {@code MistralForCausalLM} computes it: {@link Llama}'s decoder
 * (RMS norm, rotary positions, grouped-query attention, SwiGLU) without biases, where every layer's query sees
 * only the last {@code sliding_window} keys (Mistral 7B v0.1: 4096; later versions set it to null, attending to
 * everything). This file is its declaration; the computation is {@link Llama}'s.
 */
public final class Mistral {
    /** Mistral's {@code config.json} default when the field is absent ({@code MistralConfig}). */
    static final int DEFAULT_SLIDING_WINDOW = 4096;

    /**
     * Mistral's declaration: {@link Llama}'s config fields plus {@code sliding_window}; HF PEFT's defaults
     * (LoRA {@code q_proj}, {@code v_proj}; IA3 {@code k_proj}, {@code v_proj}, {@code down_proj}); AdapterHub's
     * {@code MistralAdapterModel}.
     */
    public static final Architecture ARCHITECTURE = new Architecture("mistral", true, "model.", "embed_tokens.weight",
            Map.of("LORA", List.of("q_proj", "v_proj"), "IA3", List.of("k_proj", "v_proj", "down_proj")), List.of("down_proj"), false,
            "MistralAdapterModel", Llama.ARCHITECTURE.adapterHubModule(), Mistral::readConfig, Mistral::writeConfig, Llama::build);

    private Mistral() {
    }

    private static ModelConfig readConfig(JsonNode json, String source) {
        ConfigJson c = new ConfigJson(json, source);
        int window = json.has("sliding_window") ? (c.has("sliding_window") ? c.integer("sliding_window", null, ConfigJson.MAX_POSITIONS) : 0)
                : DEFAULT_SLIDING_WINDOW;
        int layers = c.integer("num_hidden_layers", null, ConfigJson.MAX_LAYERS);
        return Llama.readFamily(c, "mistral", 4096 * 32, false, false, window, Collections.nCopies(window > 0 ? layers : 0, true));
    }

    private static Map<String, Object> writeConfig(ModelConfig cfg) {
        Map<String, Object> m = Llama.writeFamily(cfg);
        m.put("sliding_window", cfg.rotary().slidingWindow() > 0 ? cfg.rotary().slidingWindow() : null);
        return m;
    }
}
