package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tensor.Ops;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A base model's architecture, read from a Hugging Face {@code config.json} (GPT-2 or BERT field names).
 *
 * @param modelType      {@code gpt2} or {@code bert}
 * @param vocabSize      vocabulary size
 * @param hidden         hidden width d
 * @param layers         number of transformer blocks L
 * @param heads          attention heads
 * @param intermediate   feed-forward width f
 * @param maxPositions   learned positions
 * @param typeVocabSize  token types (BERT; 0 for GPT-2)
 * @param layerNormEps   layer-norm epsilon
 * @param activation     {@code gelu} (erf) or {@code gelu_new} (tanh)
 * @param padTokenId     padding id (BERT), or -1
 * @param eosTokenId     end-of-sequence id (GPT-2), or -1
 */
public record ModelConfig(String modelType, int vocabSize, int hidden, int layers, int heads, int intermediate,
                          int maxPositions, int typeVocabSize, double layerNormEps, String activation,
                          int padTokenId, int eosTokenId) {

    public ModelConfig {
        if (heads <= 0 || hidden % heads != 0) throw new IllegalArgumentException("hidden size " + hidden + " is not divisible by " + heads + " heads");
    }

    /**
     * Upper bounds no real model of these families comes near (the largest vocabularies have about 260k
     * tokens, the widest models 16k-wide hidden states); a config beyond them is refused before anything is
     * sized from it.
     */
    static final int MAX_VOCAB = 1 << 22, MAX_HIDDEN = 1 << 16, MAX_LAYERS = 1 << 10, MAX_INTERMEDIATE = 1 << 20,
            MAX_POSITIONS = 1 << 22, MAX_TOKEN_TYPES = 1 << 16;

    public int headDim() {
        return hidden / heads;
    }

    /** Reads {@code config.json}; errors name the file and the missing or malformed field. */
    public static ModelConfig load(Path configJson) {
        return fromJson(Json.read(configJson), configJson.toString());
    }

    public static ModelConfig fromJson(JsonNode c, String source) {
        if (c == null || !c.isObject()) throw PeftException.inFile(source, "not a JSON object");
        String type = text(c, "model_type", source);
        try {
            return switch (type) {
                case "gpt2" -> {
                    int d = integer(c, "n_embd", source, null, MAX_HIDDEN);
                    yield new ModelConfig("gpt2", integer(c, "vocab_size", source, null, MAX_VOCAB), d, integer(c, "n_layer", source, null, MAX_LAYERS),
                            integer(c, "n_head", source, null, MAX_HIDDEN), integer(c, "n_inner", source, 4 * d, MAX_INTERMEDIATE),
                            integer(c, "n_positions", source, null, MAX_POSITIONS), 0, number(c, "layer_norm_epsilon", source, 1e-5),
                            activation(c, "activation_function", "gelu_new", source), -1, tokenId(c, "eos_token_id", source, 50256));
                }
                case "bert" -> new ModelConfig("bert", integer(c, "vocab_size", source, null, MAX_VOCAB), integer(c, "hidden_size", source, null, MAX_HIDDEN),
                        integer(c, "num_hidden_layers", source, null, MAX_LAYERS), integer(c, "num_attention_heads", source, null, MAX_HIDDEN),
                        integer(c, "intermediate_size", source, null, MAX_INTERMEDIATE), integer(c, "max_position_embeddings", source, null, MAX_POSITIONS),
                        integer(c, "type_vocab_size", source, 2, MAX_TOKEN_TYPES), number(c, "layer_norm_eps", source, 1e-12),
                        activation(c, "hidden_act", "gelu", source), tokenId(c, "pad_token_id", source, 0), -1);
                default -> throw PeftException.inFile(source, "model_type '" + type + "' is not supported (gpt2, bert)");
                };
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(source, e.getMessage());         // the record's own checks (heads divide the width)
        }
    }

    /** The config as Hugging Face writes it. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_type", modelType);
        m.put("vocab_size", vocabSize);
        if (modelType.equals("gpt2")) {
            m.put("n_embd", hidden);
            m.put("n_layer", layers);
            m.put("n_head", heads);
            m.put("n_inner", intermediate);
            m.put("n_positions", maxPositions);
            m.put("layer_norm_epsilon", layerNormEps);
            m.put("activation_function", activation);
            m.put("eos_token_id", eosTokenId);
        } else {
            m.put("hidden_size", hidden);
            m.put("num_hidden_layers", layers);
            m.put("num_attention_heads", heads);
            m.put("intermediate_size", intermediate);
            m.put("max_position_embeddings", maxPositions);
            m.put("type_vocab_size", typeVocabSize);
            m.put("layer_norm_eps", layerNormEps);
            m.put("hidden_act", activation);
            m.put("pad_token_id", padTokenId);
        }
        return m;
    }

    private static String text(JsonNode c, String field, String source) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) throw PeftException.inFile(source, "missing field '" + field + "'");
        if (!v.isTextual()) throw PeftException.inFile(source, "field '" + field + "' must be a string, got " + v);
        return v.asText();
    }

    private static int integer(JsonNode c, String field, String source, Integer dflt, int max) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            if (dflt == null) throw PeftException.inFile(source, "missing field '" + field + "'");
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() <= 0 || !v.canConvertToInt()) {
            throw PeftException.inFile(source, "field '" + field + "' must be a positive integer, got " + v);
        }
        if (v.asInt() > max) throw PeftException.inFile(source, "field '" + field + "' is " + v + ", larger than any real model's (at most " + max + ")");
        return v.asInt();
    }

    /** A token id: an integer, -1 or absent meaning none. */
    private static int tokenId(JsonNode c, String field, String source, int dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < -1) throw PeftException.inFile(source, "field '" + field + "' must be a token id, got " + v);
        return v.asInt();
    }

    /** The activation's name, which must be one of the GELU forms the models compute. */
    private static String activation(JsonNode c, String field, String dflt, String source) {
        JsonNode v = c.get(field);
        String name = v == null || v.isNull() ? dflt : v.asText();
        if (v != null && !v.isNull() && !v.isTextual() || Ops.Gelu.forActivation(name) == null) {
            throw PeftException.inFile(source, "field '" + field + "' is " + v + ": not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast)");
        }
        return name;
    }

    private static double number(JsonNode c, String field, String source, double dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || !(v.asDouble() >= 0) || Double.isInfinite(v.asDouble())) throw PeftException.inFile(source, "field '" + field + "' must be a non-negative number, got " + v);
        return v.asDouble();
    }
}
