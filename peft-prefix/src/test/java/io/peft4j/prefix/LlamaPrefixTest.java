package io.peft4j.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.KvCache;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.PerRowCheck;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Prefix tuning on Llama with grouped-query attention, where HF PEFT sizes each layer's prefix by the key/value
 * heads ({@code token_dim} = G·dh, {@code num_attention_heads} = G): the HF PEFT fixture, the saved config, counts,
 * gradients, training, mixed batches and generation through the key/value cache.
 */
class LlamaPrefixTest {
    private static INDArray logits(PeftModel m, int[] ids) {
        return m.base().lmLogits(m.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0);
    }

    @Test
    void hfPrefixFixtureReproducesItsLogitsAndSavesTheSameFiles(@TempDir Path tmp) {
        JsonNode exp = Fixtures.expected("llama-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT), "llama-tiny");
        m.load(Fixtures.dir("llama-tiny-prefix"), "default");
        assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("prefix_logits")), 1e-4);
        m.save(tmp.resolve("p"));
        JsonNode ours = Json.read(tmp.resolve("p/adapter_config.json")), ref = Json.read(Fixtures.dir("llama-tiny-prefix").resolve("adapter_config.json"));
        for (String f : List.of("peft_type", "task_type", "num_virtual_tokens", "token_dim", "num_transformer_submodules", "num_attention_heads",
                "num_layers", "encoder_hidden_size", "prefix_projection")) {
            assertThat(ours.get(f)).as(f).isEqualTo(ref.get(f));
        }
        assertThat(SafeTensors.readAll(tmp.resolve("p/adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings")
                .equals(SafeTensors.readAll(Fixtures.dir("llama-tiny-prefix").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings"))).isTrue();
    }

    /** A prefix recorded for the query heads (token_dim 32, as a multi-head model would have it) does not fit. */
    @Test
    void aPrefixSizedByTheQueryHeadsIsRefused(@TempDir Path tmp) {
        Path bad = Fixtures.adapterWith("llama-tiny-prefix", tmp, "token_dim", 32);
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
        assertThatThrownBy(() -> m.load(bad, "p")).isInstanceOf(PeftException.class)
                .hasMessageContaining("field 'token_dim' is 32 but this base model has key/value width 16");
        Path heads = Fixtures.adapterWith("llama-tiny-prefix", tmp, "num_attention_heads", 4);
        assertThatThrownBy(() -> m.load(heads, "p")).hasMessageContaining("field 'num_attention_heads' is 4 but this base model has 2 key/value heads");
    }

    /**
     * On Llama 3.2 1B (L 16, G·dh = 8·64 = 512): n = 20 gives {@code n·2L·512} = 327,680; with a projection of width
     * h = 2048, {@code n·512 + (512·h + h) + (h·2L·512 + 2L·512)} = 10,240 + 1,050,624 + 33,570,816 = 34,631,680.
     */
    @Test
    void countsOnLlama32MatchHfPeft() {
        Path cfg = Fixtures.resource("configs/llama-3.2-1b/config.json");
        PeftModel flat = PeftModel.of(Models.describe(ModelConfig.load(cfg)));
        flat.add("default", PrefixTuningConfig.of(20));
        assertThat(flat.parameterCount().trainable()).isEqualTo(327_680);
        PeftModel proj = PeftModel.of(Models.describe(ModelConfig.load(cfg)));
        proj.add("default", PrefixTuningConfig.withProjection(20, 2048));
        assertThat(proj.parameterCount().trainable()).isEqualTo(34_631_680);
    }

    @Test
    void gradientsMatchFiniteDifferencesWithAndWithoutProjection() {
        Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}});
        for (PrefixTuningConfig cfg : List.of(PrefixTuningConfig.deepPrompts(2), PrefixTuningConfig.withProjection(2, 6))) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
            Adapter a = m.add("default", cfg, 5);
            GradCheck.check(() -> GradCheck.project(m.forward(batch, ForwardContext.inference(2)).hidden(), 9),
                    new ArrayList<>(a.parameters().values()), 5, 1e-5);
        }
    }

    @Test
    void prefixTuningTrainsOnLlama() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
        m.add("default", PrefixTuningConfig.of(4), 1);
        Random r = new Random(3);
        List<Example.Lm> data = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int start = 3 + r.nextInt(100);
            data.add(Example.Lm.response(new int[]{start, start + 1}, new int[]{40 + start % 2, 50, 60}));
        }
        var cfg = TrainingConfig.defaults().withLearningRate(5e-2).withBatchSize(8, 1).withMaxSteps(60);
        var result = new Trainer<>(m, Objectives.causalLm(0), cfg).fit(data, null, null);
        double first = result.losses().subList(0, 4).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = result.losses().subList(56, 60).stream().mapToDouble(d -> d).average().orElseThrow();
        org.slf4j.LoggerFactory.getLogger(LlamaPrefixTest.class).info("prefix on llama-tiny: loss {} -> {}", first, last);
        assertThat(last).isLessThan(0.8 * first);
    }

    /** Rows with the prefix, with a second one of another length, and without: each as alone, also continued through the cache. */
    @Test
    void mixedBatchesGiveEachRowItsOwnResultGradientAndCachedContinuation() {
        Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 8, 4, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
        m.load(Fixtures.dir("llama-tiny-prefix"), "p");
        List<String> tags = List.of("p", "__base__", "p");
        PerRowCheck.rowsMatchSeparateRuns(m, batch, tags, 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(m, m.adapter("p"), batch, tags, 1e-10);
        PerRowCheck.withASecondAdapter(m, PrefixTuningConfig.of(2), "p", batch, 1e-10);

        Decoder d = (Decoder) m.base();
        int[][] ids = {{3, 7, 11}, {5, 9, 1}, {8, 8, 4}};
        ForwardContext ctx = new ForwardContext(3, tags, false, 0);
        INDArray whole = m.forward(Batch.of(ids), ctx).hidden().value();
        KvCache cache = new KvCache(2);
        d.forward(Batch.of(new int[]{3, 7}, new int[]{5, 9}, new int[]{8, 8}), ctx, cache);
        INDArray last = d.forward(Batch.of(new int[]{11}, new int[]{1}, new int[]{4}), ctx, cache).hidden().value();
        for (int r = 0; r < 3; r++) {
            assertThat(last.slice(r).slice(0).sub(whole.slice(r).slice(2)).amaxNumber().doubleValue()).as("row %d", r).isLessThan(1e-10);
        }
    }

    /** Greedy generation with the prefix cached at the first step continues as full passes over the growing text would. */
    @Test
    void generationKeepsThePrefixInTheCache() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
        m.load(Fixtures.dir("llama-tiny-prefix"), "p");
        int[] prompt = Fixtures.ints(Fixtures.expected("llama-tiny").get("input_ids"));
        int[] out = Generator.generate((Decoder) m.base(), prompt, 4, 0, 0, -1);
        int[] text = prompt.clone();
        for (int step = 0; step < 4; step++) {
            INDArray l = logits(m, text);
            int best = l.getRow(text.length - 1).argMax().getInt(0);
            assertThat(out[step]).as("step " + step).isEqualTo(best);
            text = java.util.Arrays.copyOf(text, text.length + 1);
            text[text.length - 1] = best;
        }
    }
}
