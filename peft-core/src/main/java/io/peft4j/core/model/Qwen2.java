package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Qwen2 and Qwen2.5 (Qwen team 2024) as Hugging Face's {@code Qwen2ForCausalLM} computes them: {@link Llama}'s
 * decoder with biases on the query, key and value projections (always; none on the output projection or the
 * MLP), usually tied embeddings in the small models, and an optional sliding window
 * ({@code use_sliding_window}) in the layers from {@code max_window_layers} on (or as {@code layer_types} says).
 * This file is its declaration; the computation is {@link Llama}'s.
 */
public final class Qwen2 {
    /**
     * Qwen2's declaration: {@link Llama}'s config fields plus {@code use_sliding_window}, {@code sliding_window},
     * {@code max_window_layers}, {@code layer_types}; HF PEFT's defaults (LoRA {@code q_proj}, {@code v_proj}; IA3
     * {@code q_proj}, {@code v_proj}, {@code down_proj}). AdapterHub has no Qwen2 model class: bottleneck adapters
     * are written in its layout (as for Llama) with no {@code model_class}.
     */
    public static final Architecture ARCHITECTURE = new Architecture("qwen2", true, "model.", "embed_tokens.weight",
            Map.of("LORA", List.of("q_proj", "v_proj"), "IA3", List.of("q_proj", "v_proj", "down_proj")), List.of("down_proj"), false,
            null, Llama.ARCHITECTURE.adapterHubModule(), Qwen2::readConfig, Qwen2::writeConfig, Llama::build);

    private Qwen2() {
    }

    private static ModelConfig readConfig(JsonNode json, String source) {
        ConfigJson c = new ConfigJson(json, source);
        int layers = c.integer("num_hidden_layers", null, ConfigJson.MAX_LAYERS);
        boolean use = c.bool("use_sliding_window", false);
        int window = use ? c.integer("sliding_window", Mistral.DEFAULT_SLIDING_WINDOW, ConfigJson.MAX_POSITIONS) : 0;
        List<Boolean> windowed = new ArrayList<>();
        JsonNode types = json.get("layer_types");
        if (types != null && !types.isNull()) {
            if (!types.isArray() || types.size() != layers) {
                throw c.fault("field 'layer_types' must list one type per layer (" + layers + "), got " + types);
            }
            for (JsonNode t : types) {
                String s = t.asText();
                if (!t.isTextual() || !s.equals("full_attention") && !s.equals("sliding_attention")) {
                    throw c.fault("field 'layer_types' holds " + t + ": not supported (full_attention, sliding_attention)");
                }
                windowed.add(window > 0 && s.equals("sliding_attention"));
            }
        } else if (window > 0) {
            int full = c.integer("max_window_layers", 28, ConfigJson.MAX_LAYERS);
            for (int i = 0; i < layers; i++) windowed.add(i >= full);
        }
        return Llama.readFamily(c, "qwen2", 32768, true, false, window, windowed);
    }

    private static Map<String, Object> writeConfig(ModelConfig cfg) {
        Map<String, Object> m = Llama.writeFamily(cfg);
        ModelConfig.Rotary r = cfg.rotary();
        m.put("use_sliding_window", r.slidingWindow() > 0);
        m.put("sliding_window", r.slidingWindow() > 0 ? r.slidingWindow() : null);
        if (!r.windowed().isEmpty()) m.put("layer_types", r.windowed().stream().map(w -> w ? "sliding_attention" : "full_attention").toList());
        return m;
    }
}
