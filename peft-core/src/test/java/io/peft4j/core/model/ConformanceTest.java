package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.EmbeddingHook;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The base models reproduce the independent reference's outputs within 1e-4 in float32, and the hook sites
 * reproduce HF PEFT's LoRA, prompt-tuning and prefix-tuning semantics on the fixture adapters (the hooks
 * here are minimal test-local modules that use the stored adapter tensors as they are).
 */
class ConformanceTest {
    private static final double TOL = 1e-4;

    @Test
    void gpt2TinyLogits() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        TransformerModel m = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        assertClose(logits(m, exp), matrix(exp.get("logits")), TOL);
    }

    /**
     * A left-padded GPT-2 row has queries (the pads) that see no key under the causal mask. They must stay
     * finite in both precisions, or the 0 weight the real tokens give a pad's value turns into NaN; the real
     * tokens' states then agree between float and double.
     */
    @Test
    void gpt2LeftPaddedRowsStayFiniteInBothPrecisions() {
        Batch b = new Batch(new int[][]{{0, 0, 5, 6}, {3, 4, 5, 6}}, null, new int[][]{{0, 0, 1, 1}, {1, 1, 1, 1}});
        INDArray f = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT).forward(b, ForwardContext.inference(2)).hidden().value();
        INDArray d = Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE).forward(b, ForwardContext.inference(2)).hidden().value();
        assertThat(d.isNaN().any() || d.isInfinite().any()).as("double hidden states finite").isFalse();
        assertThat(f.isNaN().any() || f.isInfinite().any()).as("float hidden states finite").isFalse();
        assertThat(d.castTo(DataType.FLOAT).sub(f).amaxNumber().doubleValue()).isLessThan(1e-4);
    }

    @Test
    void bertTinyHiddenPoolerAndMlm() {
        JsonNode exp = Fixtures.expected("bert-tiny");
        Bert m = (Bert) Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
        Batch batch = new Batch(new int[][]{Fixtures.ints(exp.get("input_ids"))}, new int[][]{Fixtures.ints(exp.get("token_type_ids"))},
                new int[][]{Fixtures.ints(exp.get("attention_mask"))});
        ModelOutput out = m.forward(batch, ForwardContext.inference(1));
        INDArray hidden = out.hidden().value().slice(0);
        assertClose(Fixtures.rows(hidden, 0, 8), matrix(exp.get("last_hidden_state")), TOL);
        INDArray pooled = m.pool(out.hidden()).value();
        assertClose(pooled, new double[][]{Fixtures.vector(exp.get("pooler_output")).toDoubleVector()}, TOL);
        INDArray mlm = m.lmLogits(out.hidden()).value().slice(0);
        assertClose(Fixtures.rows(mlm, 0, 8), matrix(exp.get("mlm_logits")), TOL);
    }

    /**
     * The layer-output sites see Hugging Face's hidden states: the embeddings' output recomputed here by hand
     * from the weights (LayerNorm of word + position + type embeddings, in double), and the last layer's output,
     * which is the reference's {@code last_hidden_state}.
     */
    @Test
    void bertLayerOutputSitesSeeEachLayersHiddenStates() {
        JsonNode exp = Fixtures.expected("bert-tiny");
        TransformerModel m = Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
        var sites = m.hooks().sites(io.peft4j.core.hooks.SiteKind.LAYER_OUTPUT);
        assertThat(sites).extracting(io.peft4j.core.hooks.HookSite::name).containsExactly("embeddings.output", "encoder.layer.0", "encoder.layer.1");
        Map<String, INDArray> seen = new java.util.LinkedHashMap<>();
        for (var s : sites) m.hooks().add(s.name(), (io.peft4j.core.hooks.HiddenHook) (h, ctx) -> {
            seen.put(s.name(), h.value().dup());
            return h;
        });
        int[] ids = Fixtures.ints(exp.get("input_ids")), types = Fixtures.ints(exp.get("token_type_ids"));
        m.forward(new Batch(new int[][]{ids}, new int[][]{types}, new int[][]{Fixtures.ints(exp.get("attention_mask"))}), ForwardContext.inference(1));
        assertClose(Fixtures.rows(seen.get("encoder.layer.1").slice(0), 0, 8), matrix(exp.get("last_hidden_state")), TOL);
        var p = m.parameters();
        double[][] emb = new double[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            double[] x = new double[32];
            for (int j = 0; j < 32; j++) {
                x[j] = p.get("embeddings.word_embeddings.weight").value().getDouble(ids[i], j) + p.get("embeddings.position_embeddings.weight").value().getDouble(i, j)
                        + p.get("embeddings.token_type_embeddings.weight").value().getDouble(types[i], j);
            }
            double mean = java.util.Arrays.stream(x).average().orElseThrow(), var = 0;
            for (double v : x) var += (v - mean) * (v - mean) / x.length;
            emb[i] = new double[32];
            for (int j = 0; j < 32; j++) {
                emb[i][j] = (x[j] - mean) / Math.sqrt(var + 1e-12) * p.get("embeddings.LayerNorm.weight").value().getDouble(j)
                        + p.get("embeddings.LayerNorm.bias").value().getDouble(j);
            }
        }
        assertClose(seen.get("embeddings.output").slice(0), emb, TOL);
    }

    @Test
    void loraOnLinearSites() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        TransformerModel m = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        Map<String, INDArray> w = SafeTensors.readAll(Fixtures.dir("gpt2-tiny-lora").resolve("adapter_model.safetensors"), DataType.FLOAT);
        double scale = 8.0 / 4.0;
        for (int i = 0; i < 2; i++) {
            String key = "base_model.model.transformer.h." + i + ".attn.c_attn";
            Tensor a = Tensor.constant(w.get(key + ".lora_A.weight")), b = Tensor.constant(w.get(key + ".lora_B.weight"));
            m.hooks().add("h." + i + ".attn.c_attn", new LinearHook() {
                @Override
                public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                    long rows = x.value().length() / x.size(2);
                    Tensor x2 = Ops.reshape(x, rows, x.size(2));
                    Tensor delta = Ops.matmul(Ops.matmul(x2, a, false, true), b, false, true);
                    return Ops.add(y, Ops.reshape(Ops.scale(delta, scale), y.shape()));
                }
            });
        }
        assertClose(logits(m, exp), matrix(exp.get("lora_logits")), TOL);
    }

    @Test
    void promptTuningOnEmbeddingSite() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        TransformerModel m = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        INDArray prompt = SafeTensors.readAll(Fixtures.dir("gpt2-tiny-prompt").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings");
        m.hooks().add(Gpt2.EMBEDDINGS, (EmbeddingHook) (e, ctx) -> Ops.concat(1, Tensor.constant(prompt.reshape(1, 5, 32)), e));
        ModelOutput out = m.forward(Batch.of(Fixtures.ints(exp.get("input_ids"))), ForwardContext.inference(1));
        assertThat(out.virtualTokens()).isEqualTo(5);
        assertClose(m.lmLogits(out.hidden()).value().slice(0), matrix(exp.get("prompt_logits_all_positions")), TOL);
    }

    @Test
    void prefixTuningOnAttentionPrefixSites() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        TransformerModel m = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        INDArray table = SafeTensors.readAll(Fixtures.dir("gpt2-tiny-prefix").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings");
        // [n, 2*L*d] viewed as [n, 2L, heads, dh] -> layer l keys = slice 2l, values = 2l+1, as [1, heads, n, dh]
        INDArray view = table.reshape(3, 4, 4, 8);
        PrefixHook hook = new PrefixHook() {
            @Override
            public int length(ForwardContext ctx) {
                return 3;
            }

            @Override
            public KeyValue prefix(int layer, ForwardContext ctx) {
                INDArray k = view.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(2L * layer))
                        .permute(1, 0, 2).dup('c').reshape(1, 4, 3, 8);
                INDArray v = view.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(2L * layer + 1))
                        .permute(1, 0, 2).dup('c').reshape(1, 4, 3, 8);
                return new KeyValue(Tensor.constant(k), Tensor.constant(v));
            }
        };
        for (int i = 0; i < 2; i++) m.hooks().add("h." + i + ".attn.prefix", hook);
        assertClose(logits(m, exp), matrix(exp.get("prefix_logits")), TOL);
    }

    @Test
    void kvCacheGivesTheSameLogitsAsAFullPass() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        Gpt2 m = (Gpt2) Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        KvCache cache = new KvCache(2);
        double[][] expected = matrix(exp.get("logits"));
        for (int i = 0; i < ids.length; i++) {
            ModelOutput out = m.forward(Batch.of(new int[]{ids[i]}), ForwardContext.inference(1), cache);
            assertClose(m.lmLogits(out.hidden()).value().slice(0), new double[][]{expected[i]}, TOL);
        }
        assertThat(cache.length()).isEqualTo(ids.length);
    }

    private static INDArray logits(TransformerModel m, JsonNode exp) {
        ModelOutput out = m.forward(Batch.of(Fixtures.ints(exp.get("input_ids"))), ForwardContext.inference(1));
        return m.lmLogits(out.hidden()).value().slice(0);
    }
}
