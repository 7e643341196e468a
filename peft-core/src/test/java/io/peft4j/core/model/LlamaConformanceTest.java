package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The Llama family against the independent float64 reference (fixtures {@code llama-tiny}, {@code llama3-rope-tiny},
 * {@code qwen2-tiny}): logits within 1e-4 in float32, greedy tokens through the key/value cache, the response-only
 * causal-LM loss, and HF PEFT's LoRA (all seven linear layers) and grouped-query prefix semantics reproduced at the
 * hook sites with minimal test-local modules that use the stored adapter tensors as they are.
 */
class LlamaConformanceTest {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaConformanceTest.class);
    private static final double TOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "llama3-rope-tiny", "qwen2-tiny"})
    void logitsMatchTheReference(String fixture) {
        JsonNode exp = Fixtures.expected(fixture);
        TransformerModel m = Models.load(Fixtures.dir(fixture), DataType.FLOAT);
        assertThat(m).isInstanceOf(Decoder.class);
        assertWithin(fixture + " logits", logits(m, exp), matrix(exp.get("logits")));
    }

    /** Each fixture exercises what it was made for: GQA and an untied head; llama3 scaling; biases and a tied head. */
    @Test
    void theFixturesConfigureWhatTheyTest() {
        ModelConfig llama = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT).config();
        assertThat(llama.keyValueHeads()).isEqualTo(2);
        assertThat(llama.heads()).isEqualTo(4);
        assertThat(llama.rotary().tiedHead()).isFalse();
        ModelConfig rope = ModelConfig.load(Fixtures.dir("llama3-rope-tiny").resolve("config.json"));
        assertThat(rope.rotary().rope().type()).isEqualTo("llama3");
        TransformerModel qwen = Models.load(Fixtures.dir("qwen2-tiny"), DataType.FLOAT);
        assertThat(qwen.config().rotary().tiedHead()).isTrue();
        assertThat(qwen.parameters()).containsKey("layers.0.self_attn.q_proj.bias").doesNotContainKey("layers.0.self_attn.o_proj.bias")
                .doesNotContainKey("lm_head.weight");
        assertThat(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT).parameters()).containsKey("lm_head.weight");
    }

    /** The same 40 positions without llama3 scaling differ from the reference: the fixture does test the scaling. */
    @Test
    void llama3ScalingChangesTheLogits() {
        JsonNode exp = Fixtures.expected("llama3-rope-tiny");
        ModelConfig scaled = ModelConfig.load(Fixtures.dir("llama3-rope-tiny").resolve("config.json"));
        var r = scaled.rotary();
        ModelConfig plain = new ModelConfig(scaled.modelType(), scaled.vocabSize(), scaled.hidden(), scaled.layers(), scaled.heads(),
                scaled.keyValueHeads(), scaled.headDim(), scaled.intermediate(), scaled.maxPositions(), 0, scaled.layerNormEps(), "silu",
                -1, 2, new ModelConfig.Rotary(Rope.plain(r.rope().theta(), scaled.headDim(), scaled.maxPositions()), false, false, false,
                false, 0, List.of()));
        TransformerModel m;
        try (var ckpt = Models.openCheckpoint(Fixtures.dir("llama3-rope-tiny"))) {
            m = Llama.load(plain, ckpt, DataType.FLOAT);
        }
        INDArray got = logits(m, exp);
        double worst = maxAbsDiff(got, matrix(exp.get("logits")));
        assertThat(worst).isGreaterThan(1e-2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny"})
    void greedyTokensThroughTheKeyValueCacheMatchTheReference(String fixture) {
        JsonNode exp = Fixtures.expected(fixture);
        Decoder m = (Decoder) Models.load(Fixtures.dir(fixture), DataType.FLOAT);
        int[] out = Generator.generate(m, Fixtures.ints(exp.get("input_ids")), 8, 0, 0, -1);
        assertThat(out).containsExactly(Fixtures.ints(exp.get("greedy_8")));
    }

    /** Token by token through the cache, each step's logits equal the full pass's at that position. */
    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "llama3-rope-tiny", "qwen2-tiny"})
    void kvCacheGivesTheSameLogitsAsAFullPass(String fixture) {
        JsonNode exp = Fixtures.expected(fixture);
        Decoder m = (Decoder) Models.load(Fixtures.dir(fixture), DataType.FLOAT);
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        double[][] expected = matrix(exp.get("logits"));
        KvCache cache = new KvCache(m.config().layers());
        int split = 3;                       // a prompt of 3 tokens, then one at a time
        ModelOutput first = m.forward(Batch.of(Arrays.copyOf(ids, split)), ForwardContext.inference(1), cache);
        Fixtures.assertClose(m.lmLogits(first.hidden()).value().slice(0), Arrays.copyOf(expected, split), TOL);
        for (int i = split; i < ids.length; i++) {
            ModelOutput out = m.forward(Batch.of(new int[]{ids[i]}), ForwardContext.inference(1), cache);
            Fixtures.assertClose(m.lmLogits(out.hidden()).value().slice(0), new double[][]{expected[i]}, TOL);
        }
        assertThat(cache.length()).isEqualTo(ids.length);
        assertThat(cache.keys(0).size(2)).isEqualTo(m.config().keyValueWidth());      // G heads cached, not H
    }

    @Test
    void responseOnlyLossMatchesTheReference() {
        JsonNode exp = Fixtures.expected("llama-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        int p = exp.get("response_loss_prompt_len").asInt();
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
        Example.Lm ex = Example.Lm.response(Arrays.copyOf(ids, p), Arrays.copyOfRange(ids, p, ids.length));
        double loss = Objectives.causalLm(0).loss(m, List.of(ex), ForwardContext.inference(1)).value().getDouble(0);
        LOG.info("llama-tiny response_loss: {} vs reference {} (diff {})", loss, exp.get("response_loss").asDouble(),
                Math.abs(loss - exp.get("response_loss").asDouble()));
        assertThat(loss).isCloseTo(exp.get("response_loss").asDouble(), within(TOL));
    }

    /** HF PEFT's LoRA ({@code h = Wx + (alpha/r)·B A x}) on q, k, v, o, gate, up and down: the rotation follows the adapted projection. */
    @Test
    void loraOnAllSevenLinearSites() {
        JsonNode exp = Fixtures.expected("llama-tiny");
        TransformerModel m = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        Map<String, INDArray> w = SafeTensors.readAll(Fixtures.dir("llama-tiny-lora").resolve("adapter_model.safetensors"), DataType.FLOAT);
        double scale = 8.0 / 4.0;
        int hooked = 0;
        for (var site : m.hooks().sites(io.peft4j.core.hooks.SiteKind.LINEAR)) {
            String key = "base_model.model." + m.modulePrefix() + site.name();
            Tensor a = Tensor.constant(w.get(key + ".lora_A.weight")), b = Tensor.constant(w.get(key + ".lora_B.weight"));
            m.hooks().add(site.name(), new LinearHook() {
                @Override
                public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                    long in = x.size(x.rank() - 1);
                    Tensor x2 = Ops.reshape(x, x.value().length() / in, in);
                    Tensor delta = Ops.matmul(Ops.matmul(x2, a, false, true), b, false, true);
                    return Ops.add(y, Ops.reshape(Ops.scale(delta, scale), y.shape()));
                }
            });
            hooked++;
        }
        assertThat(hooked).isEqualTo(14);
        assertWithin("llama-tiny lora_logits", logits(m, exp), matrix(exp.get("lora_logits")));
    }

    /**
     * HF PEFT's prefix for grouped-query attention: {@code prompt_embeddings [3, L·2·16]}, each row viewed as
     * {@code [2L, G = 2, dh = 8]}; layer l's keys at slice 2l, values at 2l + 1, used unrotated; real tokens at
     * positions 3...
     */
    @Test
    void prefixSizedByTheKeyValueHeads() {
        JsonNode exp = Fixtures.expected("llama-tiny");
        TransformerModel m = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        INDArray table = SafeTensors.readAll(Fixtures.dir("llama-tiny-prefix").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings");
        assertThat(table.shape()).containsExactly(3, 2 * 2 * 16);
        INDArray view = table.reshape(3, 4, 2, 8);
        PrefixHook hook = new PrefixHook() {
            @Override
            public int length(ForwardContext ctx) {
                return 3;
            }

            @Override
            public KeyValue prefix(int layer, ForwardContext ctx) {
                INDArray k = view.get(NDArrayIndex.all(), NDArrayIndex.point(2L * layer)).permute(1, 0, 2).dup('c').reshape(1, 2, 3, 8);
                INDArray v = view.get(NDArrayIndex.all(), NDArrayIndex.point(2L * layer + 1)).permute(1, 0, 2).dup('c').reshape(1, 2, 3, 8);
                return new KeyValue(Tensor.constant(k), Tensor.constant(v));
            }
        };
        for (var s : m.hooks().sites(io.peft4j.core.hooks.SiteKind.ATTENTION_PREFIX)) {
            assertThat(s.out()).isEqualTo(16);
            m.hooks().add(s.name(), hook);
        }
        assertWithin("llama-tiny prefix_logits", logits(m, exp), matrix(exp.get("prefix_logits")));
    }

    /** Hugging Face names: the hook sites and the keys a saved checkpoint of the model has. */
    @Test
    void siteAndWeightNamesAreHuggingFaces() {
        TransformerModel m = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        assertThat(m.hooks().sites()).extracting(io.peft4j.core.hooks.HookSite::name).startsWith("embeddings", "embeddings.output",
                "layers.0.self_attn.prefix", "layers.0.self_attn.q_proj", "layers.0.self_attn.k_proj",
                "layers.0.self_attn.v_proj", "layers.0.self_attn.o_proj", "layers.0.self_attn.output", "layers.0.mlp.gate_proj",
                "layers.0.mlp.up_proj", "layers.0.mlp.down_proj", "layers.0.mlp.output", "layers.0").endsWith("layers.1", "final");
        assertThat(m.modulePrefix()).isEqualTo("model.");
        assertThat(m.huggingFaceStateDict().keySet()).containsExactlyInAnyOrderElementsOf(
                SafeTensors.readAll(Fixtures.dir("llama-tiny").resolve("model.safetensors"), DataType.FLOAT).keySet());
        assertThat(m.architecture().defaultTargets("LORA")).containsExactly("q_proj", "v_proj");
        assertThat(m.inputEmbeddings().shape()).containsExactly(128, 32);
    }

    private static INDArray logits(TransformerModel m, JsonNode exp) {
        ModelOutput out = m.forward(Batch.of(Fixtures.ints(exp.get("input_ids"))), ForwardContext.inference(1));
        return m.lmLogits(out.hidden()).value().slice(0);
    }

    private static double maxAbsDiff(INDArray actual, double[][] expected) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) worst = Math.max(worst, Math.abs(actual.getDouble(i, j) - expected[i][j]));
        }
        return worst;
    }

    private static void assertWithin(String what, INDArray actual, double[][] expected) {
        LOG.info("{}: max abs difference {}", what, maxAbsDiff(actual, expected));
        Fixtures.assertClose(actual, expected, TOL);
    }
}
