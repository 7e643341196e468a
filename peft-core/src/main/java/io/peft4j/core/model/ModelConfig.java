package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A base model's shape, read from a Hugging Face {@code config.json} by its family's {@link Architecture} (each
 * family reads its own field names: GPT-2's {@code n_embd}, BERT's and Llama's {@code hidden_size}, ...).
 *
 * @param modelType     Hugging Face's {@code model_type} ({@link #architecture()} is its family)
 * @param vocabSize     vocabulary size
 * @param hidden        hidden width d
 * @param layers        number of transformer blocks L
 * @param heads         attention (query) heads H
 * @param keyValueHeads key/value heads (H for multi-head attention; fewer with grouped-query attention)
 * @param headDim       width of one head (usually d / H)
 * @param intermediate  feed-forward width f
 * @param maxPositions  learned positions, or the context a rotary model was trained for
 * @param typeVocabSize token types (BERT; 0 otherwise)
 * @param layerNormEps  layer-norm (or RMS-norm) epsilon
 * @param activation    the feed-forward activation: {@code gelu} (erf), {@code gelu_new} (tanh), {@code silu}
 * @param padTokenId    padding id (BERT), or -1
 * @param eosTokenId    end-of-sequence id (decoders; the first where the config lists several), or -1
 * @param rotary        what a rotary-position decoder (the Llama family) adds; null for learned positions
 */
public record ModelConfig(String modelType, int vocabSize, int hidden, int layers, int heads, int keyValueHeads, int headDim,
                          int intermediate, int maxPositions, int typeVocabSize, double layerNormEps, String activation,
                          int padTokenId, int eosTokenId, Rotary rotary) {

    /**
     * The Llama family's options beyond the common shape.
     *
     * @param rope          the rotary position embeddings
     * @param tiedHead      the LM head is the token embedding table ({@code tie_word_embeddings})
     * @param qkvBias       the query, key and value projections have biases (Llama's {@code attention_bias}; Qwen2 always)
     * @param outputBias    the attention output projection has a bias (Llama's {@code attention_bias})
     * @param mlpBias       the gate, up and down projections have biases ({@code mlp_bias})
     * @param slidingWindow a query sees only the keys less than this many positions back, in the layers
     *                      {@code windowed} flags; 0: no window
     * @param windowed      per layer, whether it uses the sliding window (empty when there is none)
     */
    public record Rotary(Rope rope, boolean tiedHead, boolean qkvBias, boolean outputBias, boolean mlpBias, int slidingWindow,
                         List<Boolean> windowed) {
        public Rotary {
            windowed = List.copyOf(windowed);
            if (slidingWindow < 0) throw new IllegalArgumentException("sliding window " + slidingWindow + " is negative");
        }

        /** The window of {@code layer}: {@link #slidingWindow} where it applies, else 0. */
        public int windowOf(int layer) {
            return slidingWindow > 0 && layer < windowed.size() && windowed.get(layer) ? slidingWindow : 0;
        }
    }

    public ModelConfig {
        if (heads <= 0 || keyValueHeads <= 0 || heads % keyValueHeads != 0) {
            throw new IllegalArgumentException(heads + " attention heads cannot be grouped over " + keyValueHeads + " key/value heads");
        }
        if (rotary == null && hidden % heads != 0) throw new IllegalArgumentException("hidden size " + hidden + " is not divisible by " + heads + " heads");
        if (headDim <= 0) throw new IllegalArgumentException("head dimension " + headDim + " is not positive");
    }

    /** A GPT-2- or BERT-shaped config: multi-head attention with {@code hidden / heads}-wide heads, learned positions. */
    public ModelConfig(String modelType, int vocabSize, int hidden, int layers, int heads, int intermediate, int maxPositions,
                       int typeVocabSize, double layerNormEps, String activation, int padTokenId, int eosTokenId) {
        this(modelType, vocabSize, hidden, layers, heads, heads, heads > 0 ? Math.max(1, hidden / heads) : 1, intermediate, maxPositions,
                typeVocabSize, layerNormEps, activation, padTokenId, eosTokenId, null);
    }

    /** The family this config belongs to. */
    public Architecture architecture() {
        return Architectures.forType(modelType);
    }

    /** Width of the keys (and of the values) of one position: {@code keyValueHeads · headDim}. */
    public int keyValueWidth() {
        return keyValueHeads * headDim;
    }

    /** Width of the queries of one position: {@code heads · headDim} (the hidden width for GPT-2 and BERT). */
    public int queryWidth() {
        return heads * headDim;
    }

    /** Reads {@code config.json}; errors name the file and the missing or malformed field. */
    public static ModelConfig load(Path configJson) {
        return fromJson(Json.read(configJson), configJson.toString());
    }

    /** Reads a parsed {@code config.json} with its family's reader; errors name {@code source} and the field. */
    public static ModelConfig fromJson(JsonNode c, String source) {
        if (c == null || !c.isObject()) throw PeftException.inFile(source, "not a JSON object");
        String type = new ConfigJson(c, source).text("model_type", null);
        Architecture a;
        try {
            a = Architectures.forType(type);
        } catch (PeftException e) {
            throw PeftException.inFile(source, e.getMessage());
        }
        try {
            return a.reader().read(c, source);
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(source, e.getMessage());         // the record's own checks (heads divide the width)
        }
    }

    /** The config as Hugging Face writes it. */
    public Map<String, Object> toJson() {
        return architecture().writer().write(this);
    }
}
