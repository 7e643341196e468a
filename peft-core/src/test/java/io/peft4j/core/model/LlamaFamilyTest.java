package io.peft4j.core.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The Llama family's configs: RoPE scaling by hand-computed frequencies, Mistral's sliding window against the
 * reference and against its defining property, Qwen2's windowed layers, the round trip of {@code config.json}, and
 * bad input refused with the file, the field and the value.
 */
class LlamaFamilyTest {
    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ RoPE

    /** θ = 100, dim 4: ω = (1, 0.1); linear scaling divides by the factor. */
    @Test
    void defaultAndLinearFrequencies() {
        assertThat(Rope.plain(100, 4, 8).inverseFrequencies(8)).containsExactly(new double[]{1, 0.1}, within(1e-15));
        Rope linear = new Rope(100, 4, "linear", 4, 0, 0, 0, 8);
        assertThat(linear.inverseFrequencies(8)).containsExactly(new double[]{0.25, 0.025}, within(1e-15));
    }

    /** Dynamic NTK: at 16 positions of a model trained on 8 with factor 2, θ' = 100·(2·16/8 - 1)^(4/2) = 900; up to 8, θ. */
    @Test
    void dynamicFrequenciesGrowTheBaseBeyondTheTrainedContext() {
        Rope dynamic = new Rope(100, 4, "dynamic", 2, 0, 0, 0, 8);
        assertThat(dynamic.inverseFrequencies(8)).containsExactly(new double[]{1, 0.1}, within(1e-15));
        assertThat(dynamic.inverseFrequencies(16)).containsExactly(new double[]{1, 1.0 / 30}, within(1e-15));
    }

    /**
     * Llama 3.1 with θ = 10⁴, dim 8 (ω = 1, 0.1, 0.01, 0.001; wavelengths 2π/ω), original context 100, factors 8, 1, 4:
     * wavelengths below 25 are kept, above 100 divided by 8, and 62.8 is interpolated with s = (100/62.8 - 1)/3.
     */
    @Test
    void llama3Frequencies() {
        Rope r = new Rope(1e4, 8, "llama3", 8, 1, 4, 100, 128);
        double s = (100 / (2 * Math.PI / 0.1) - 1) / 3;
        assertThat(r.inverseFrequencies(10)).containsExactly(new double[]{1, (1 - s) * 0.1 / 8 + s * 0.1, 0.01 / 8, 0.001 / 8}, within(1e-15));
    }

    // ------------------------------------------------------------------ Mistral, Qwen2

    /** A Mistral made of llama-tiny's weights (no biases, untied head), with the given sliding window. */
    private Path mistral(Integer window) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("mistral-" + window));
        Files.copy(Fixtures.dir("llama-tiny").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectNode c = (ObjectNode) Json.read(Fixtures.dir("llama-tiny").resolve("config.json"));
        c.put("model_type", "mistral");
        c.remove("attention_bias");
        c.remove("mlp_bias");
        if (window == null) c.putNull("sliding_window");
        else c.put("sliding_window", window);
        Json.write(dir.resolve("config.json"), c);
        return dir;
    }

    @Test
    void mistralWithAWindowCoveringTheInputIsLlama() throws IOException {
        var exp = Fixtures.expected("llama-tiny");
        for (Integer w : new Integer[]{null, 9}) {
            TransformerModel m = Models.load(mistral(w), DataType.FLOAT);
            assertThat(m.architecture()).isSameAs(Mistral.ARCHITECTURE);
            Fixtures.assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("logits")), 1e-4);
        }
    }

    /**
     * With window W and 2 layers, the last position i sees tokens {@code i - 2(W - 1) .. i} only: its logits equal the
     * last logits of the model run on those tokens alone (rotary scores depend on relative positions only).
     */
    @Test
    void theSlidingWindowLimitsWhatEachPositionSees() throws IOException {
        int[] ids = Fixtures.ints(Fixtures.expected("llama-tiny").get("input_ids"));
        TransformerModel windowed = Models.load(mistral(2), DataType.FLOAT);
        INDArray full = logits(windowed, ids);
        INDArray alone = logits(windowed, Arrays.copyOfRange(ids, ids.length - 3, ids.length));
        assertThat(maxDiff(full.getRow(ids.length - 1), alone.getRow(2))).isLessThan(1e-4);
        INDArray unwindowed = logits(Models.load(mistral(null), DataType.FLOAT), ids);
        assertThat(maxDiff(full.getRow(ids.length - 1), unwindowed.getRow(ids.length - 1))).isGreaterThan(1e-2);
        assertThat(maxDiff(full.getRow(1), unwindowed.getRow(1))).isLessThan(1e-5);       // inside the window: unchanged
        // token by token through the cache, the window applies to the cached keys the same way
        Decoder d = (Decoder) windowed;
        KvCache cache = new KvCache(2);
        for (int i = 0; i < ids.length; i++) {
            INDArray step = d.lmLogits(d.forward(Batch.of(new int[]{ids[i]}), ForwardContext.inference(1), cache).hidden()).value().slice(0);
            assertThat(maxDiff(step.getRow(0), full.getRow(i))).as("position " + i).isLessThan(1e-4);
        }
    }

    @Test
    void mistralDefaultsToHuggingFacesWindowAndQwen2WindowsItsLaterLayers() throws IOException {
        ObjectNode c = (ObjectNode) Json.read(Fixtures.dir("llama-tiny").resolve("config.json"));
        c.put("model_type", "mistral");
        assertThat(ModelConfig.fromJson(c, "c").rotary().windowOf(0)).isEqualTo(4096);          // MistralConfig's default
        ObjectNode q = (ObjectNode) Json.read(Fixtures.dir("qwen2-tiny").resolve("config.json"));
        assertThat(ModelConfig.fromJson(q, "q").rotary().windowOf(1)).isZero();                   // use_sliding_window false
        q.put("use_sliding_window", true).put("sliding_window", 4).put("max_window_layers", 1);
        ModelConfig qc = ModelConfig.fromJson(q, "q");
        assertThat(qc.rotary().windowOf(0)).isZero();
        assertThat(qc.rotary().windowOf(1)).isEqualTo(4);
        assertThat(qc.rotary().qkvBias()).isTrue();
        assertThat(qc.rotary().outputBias()).isFalse();
    }

    /** {@code config.json} written and read back is the same config, for every family member. */
    @Test
    void configsRoundTrip() {
        for (String f : new String[]{"llama-tiny", "llama3-rope-tiny", "qwen2-tiny"}) {
            ModelConfig c = ModelConfig.load(Fixtures.dir(f).resolve("config.json"));
            assertThat(ModelConfig.fromJson(Json.MAPPER.valueToTree(c.toJson()), f)).as(f).isEqualTo(c);
        }
    }

    // ------------------------------------------------------------------ bad input

    private void refused(String fixture, Consumer<ObjectNode> edit, String... message) throws IOException {
        ObjectNode c = (ObjectNode) Json.read(Fixtures.dir(fixture).resolve("config.json"));
        edit.accept(c);
        Path f = tmp.resolve("config.json");
        Json.write(f, c);
        var t = assertThatThrownBy(() -> ModelConfig.load(f)).isInstanceOf(PeftException.class).hasMessageStartingWith(f.toString());
        for (String m : message) t.hasMessageContaining(m);
    }

    @Test
    void unsupportedFieldsAreRefusedNamingFieldAndValue() throws IOException {
        refused("llama-tiny", c -> c.put("hidden_act", "gelu"), "field 'hidden_act' is 'gelu': not supported");
        refused("llama-tiny", c -> c.put("num_key_value_heads", 3), "field 'num_key_value_heads' is 3: it must divide num_attention_heads (4)");
        refused("llama-tiny", c -> c.put("head_dim", 7), "field 'head_dim' is 7: rotary heads need an even width");
        refused("llama-tiny", c -> c.put("partial_rotary_factor", 0.5), "field 'partial_rotary_factor' is 0.5");
        refused("llama-tiny", c -> c.putObject("quantization_config").put("quant_method", "gptq"), "field 'quantization_config' is present");
        refused("llama-tiny", c -> c.put("attention_bias", "yes"), "field 'attention_bias' must be true or false, got \"yes\"");
        refused("llama-tiny", c -> c.put("vocab_size", 2_000_000_000), "field 'vocab_size' is 2000000000, larger than any real model's");
        refused("llama-tiny", c -> c.put("num_key_value_heads", 1 << 20), "field 'num_key_value_heads' is 1048576, larger than any real model's");
        refused("llama-tiny", c -> c.put("rope_theta", "big"), "field 'rope_theta' must be a non-negative number, got \"big\"");
        refused("llama-tiny", c -> c.put("rope_theta", 0), "field 'rope_theta' is 0: it must be larger than 0");
        refused("llama-tiny", c -> c.put("rms_norm_eps", -1), "field 'rms_norm_eps' must be a non-negative number, got -1");
        refused("llama-tiny", c -> c.remove("hidden_size"), "missing field 'hidden_size'");
        refused("qwen2-tiny", c -> c.putArray("layer_types").add("full_attention").add("chunked_attention"),
                "field 'layer_types' holds \"chunked_attention\": not supported");
        refused("llama-tiny", c -> {
            c.put("model_type", "mistral");
            c.put("sliding_window", -4);
        }, "field 'sliding_window' must be a positive integer, got -4");
        refused("llama-tiny", c -> c.put("model_type", "gemma"), "model_type 'gemma' is not supported (gpt2, bert, llama, mistral, qwen2)");
    }

    @Test
    void unknownOrIncompleteRopeScalingIsRefused() throws IOException {
        refused("llama3-rope-tiny", c -> ((ObjectNode) c.get("rope_scaling")).put("rope_type", "yarn"),
                "field 'rope_scaling.rope_type' is 'yarn': not supported (default, linear, dynamic, llama3)");
        refused("llama3-rope-tiny", c -> {
            ObjectNode s = (ObjectNode) c.get("rope_scaling");
            s.remove("rope_type");
            s.put("type", "longrope");
        }, "field 'rope_scaling.type' is 'longrope': not supported");
        refused("llama3-rope-tiny", c -> ((ObjectNode) c.get("rope_scaling")).remove("low_freq_factor"), "missing field 'rope_scaling.low_freq_factor'");
        refused("llama3-rope-tiny", c -> ((ObjectNode) c.get("rope_scaling")).put("high_freq_factor", 1.0),
                "field 'rope_scaling.high_freq_factor' is 1.0: it must be larger than low_freq_factor (1.0)");
        refused("llama3-rope-tiny", c -> ((ObjectNode) c.get("rope_scaling")).put("factor", 0), "field 'rope_scaling.factor' is 0.0: it must be positive");
        refused("llama3-rope-tiny", c -> c.put("rope_scaling", "llama3"), "field 'rope_scaling' must be an object, got \"llama3\"");
        // the types computed here are read; the legacy key 'type' too
        ObjectNode c = (ObjectNode) Json.read(Fixtures.dir("llama-tiny").resolve("config.json"));
        c.putObject("rope_scaling").put("type", "linear").put("factor", 2.0);
        assertThat(ModelConfig.fromJson(c, "c").rotary().rope().type()).isEqualTo("linear");
        c.putObject("rope_scaling").put("rope_type", "dynamic").put("factor", 2.0);
        assertThat(ModelConfig.fromJson(c, "c").rotary().rope().factor()).isEqualTo(2.0);
    }

    /** Weights that do not fit the config name the tensor, both shapes, and the config. */
    @Test
    void weightsThatDoNotFitTheConfigNameBothFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("gqa"));
        Files.copy(Fixtures.dir("llama-tiny").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectNode c = (ObjectNode) Json.read(Fixtures.dir("llama-tiny").resolve("config.json"));
        c.put("num_key_value_heads", 4);
        Json.write(dir.resolve("config.json"), c);
        assertThatThrownBy(() -> Models.load(dir, DataType.FLOAT)).isInstanceOf(PeftException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("'model.layers.0.self_attn.k_proj.weight' has shape [16, 32]")
                .hasMessageContaining("[32, 32]").hasMessageContaining(dir.resolve("config.json").toString());
        c.put("num_key_value_heads", 2).put("tie_word_embeddings", true);
        Json.write(dir.resolve("config.json"), c);
        assertThat(Models.load(dir, DataType.FLOAT).parameters()).doesNotContainKey("lm_head.weight");   // tied: the stored head is not read
    }

    private static INDArray logits(TransformerModel m, int[] ids) {
        return m.lmLogits(m.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0);
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }
}
