package io.peft4j.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Gpt2;
import io.peft4j.core.model.KvCache;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.PerRowCheck;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PrefixTuningTest {
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}});

    private static INDArray logits(PeftModel m, int[] ids) {
        return m.base().lmLogits(m.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0);
    }

    @Test
    void hfPrefixFixtureReproducesItsLogitsAndSavesTheSameFiles(@TempDir Path tmp) {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT), "gpt2-tiny");
        m.load(Fixtures.dir("gpt2-tiny-prefix"), "default");
        assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("prefix_logits")), 1e-4);
        m.save(tmp.resolve("p"));
        JsonNode ours = Json.read(tmp.resolve("p/adapter_config.json")), ref = Json.read(Fixtures.dir("gpt2-tiny-prefix").resolve("adapter_config.json"));
        for (String f : List.of("peft_type", "task_type", "num_virtual_tokens", "token_dim", "num_transformer_submodules", "num_attention_heads",
                "num_layers", "encoder_hidden_size", "prefix_projection")) {
            assertThat(ours.get(f)).as(f).isEqualTo(ref.get(f));
        }
        assertThat(SafeTensors.readAll(tmp.resolve("p/adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings")
                .equals(SafeTensors.readAll(Fixtures.dir("gpt2-tiny-prefix").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings"))).isTrue();
    }

    @Test
    void countsMatchHfPeft() {
        Path gpt2 = Fixtures.resource("configs/gpt2/config.json");
        PeftModel flat = PeftModel.of(Models.describe(ModelConfig.load(gpt2)));
        flat.add("default", PrefixTuningConfig.of(20));
        assertThat(flat.parameterCount().trainable()).isEqualTo(368_640);
        PeftModel proj = PeftModel.of(Models.describe(ModelConfig.load(gpt2)));
        proj.add("default", PrefixTuningConfig.withProjection(20, 768));
        assertThat(proj.parameterCount().trainable()).isEqualTo(14_780_160);
    }

    @Test
    void gradientsMatchFiniteDifferencesOnBothArchitecturesWithAndWithoutProjection() {
        for (String fixture : List.of("gpt2-tiny", "bert-tiny")) {
            for (PrefixTuningConfig cfg : List.of(PrefixTuningConfig.deepPrompts(2), PrefixTuningConfig.withProjection(2, 6))) {
                PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.DOUBLE));
                Adapter a = m.add("default", cfg, 5);
                GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(2)).hidden(), 9),
                        new ArrayList<>(a.parameters().values()), 5, 1e-5);
            }
        }
    }

    @Test
    void projectionExportsItsTableWhichGivesTheSameOutputsAndGeneratesWithTheCache(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT), "gpt2-tiny");
        m.add("default", PrefixTuningConfig.withProjection(3, 16), 2);
        int[] ids = {4, 8, 15, 16, 23, 42};
        INDArray full = logits(m, ids);
        m.save(tmp.resolve("p"));
        assertThat(SafeTensors.readAll(tmp.resolve("p/adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings").shape())
                .containsExactly(3, 2 * 2 * 32);
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        back.load(tmp.resolve("p"), "default");
        assertClose(logits(back, ids), full.toDoubleMatrix(), 1e-5);
        // token by token through the key/value cache: the prefix is cached with the first step
        Gpt2 g = (Gpt2) back.base();
        KvCache cache = new KvCache(2);
        double[][] expected = full.toDoubleMatrix();
        for (int i = 0; i < ids.length; i++) {
            var out = g.forward(Batch.of(new int[]{ids[i]}), ForwardContext.inference(1), cache);
            assertClose(g.lmLogits(out.hidden()).value().slice(0), new double[][]{expected[i]}, 1e-4);
        }
    }

    /**
     * Rows tagged for a prefix adapter and rows without it share one batch: each computes what it computes
     * alone (rows without the prefix at positions from 0), gradients come from the adapter's rows only, and
     * the key/value cache continues each row at its own position.
     */
    @Test
    void mixedBatchesGiveEachRowItsOwnResultGradientAndCachedContinuation() {
        Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 8, 4, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        PeftModel gpt2 = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        gpt2.load(Fixtures.dir("gpt2-tiny-prefix"), "p");
        List<String> tags = List.of("p", "__base__", "p");
        PerRowCheck.rowsMatchSeparateRuns(gpt2, batch, tags, 1e-10);
        PerRowCheck.rowsMatchSeparateRuns(gpt2, batch, List.of("__base__", "p", "__base__"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(gpt2, gpt2.adapter("p"), batch, tags, 1e-10);
        PerRowCheck.withASecondAdapter(gpt2, PrefixTuningConfig.of(2), "p", batch, 1e-10);        // prefixes of two lengths
        PeftModel bert = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE));
        Adapter proj = bert.add("q", PrefixTuningConfig.withProjection(3, 16), 5);
        PerRowCheck.rowsMatchSeparateRuns(bert, batch, List.of("q", "q", "__base__"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(bert, proj, batch, List.of("q", "q", "__base__"), 1e-10);

        // two tokens per row, then one more through the cache: the last position as in one pass over all three
        Gpt2 g = (Gpt2) gpt2.base();
        int[][] ids = {{3, 7, 11}, {5, 9, 1}, {8, 8, 4}};
        ForwardContext ctx = new ForwardContext(3, tags, false, 0);
        INDArray whole = gpt2.forward(Batch.of(ids), ctx).hidden().value();
        KvCache cache = new KvCache(2);
        g.forward(Batch.of(new int[]{3, 7}, new int[]{5, 9}, new int[]{8, 8}), ctx, cache);
        INDArray last = g.forward(Batch.of(new int[]{11}, new int[]{1}, new int[]{4}), ctx, cache).hidden().value();
        for (int r = 0; r < 3; r++) {
            double diff = last.slice(r).slice(0).sub(whole.slice(r).slice(2)).amaxNumber().doubleValue();
            assertThat(diff).as("row %d (%s): cached step against the whole pass", r, tags.get(r)).isLessThan(1e-10);
        }
    }

    /**
     * Prefixes of disjoint rows share their positions: a batch mixing a 4- and a 2-position prefix caches 4 prefix
     * positions, not 6; each row computes what it computes alone, and the cache continues each row at its own position.
     */
    @Test
    void prefixesOfDisjointRowsShareTheirPositions() {
        PeftModel gpt2 = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        gpt2.add("four", PrefixTuningConfig.of(4), 1);
        gpt2.add("two", PrefixTuningConfig.of(2), 2);
        List<String> tags = List.of("two", "__base__", "four");
        int[][] ids = {{3, 7, 11}, {5, 9, 1}, {8, 8, 4}};
        PerRowCheck.rowsMatchSeparateRuns(gpt2, Batch.of(ids), tags, 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(gpt2, gpt2.adapter("two"), Batch.of(ids), tags, 1e-10);
        Gpt2 g = (Gpt2) gpt2.base();
        ForwardContext ctx = new ForwardContext(3, tags, false, 0);
        INDArray whole = gpt2.forward(Batch.of(ids), ctx).hidden().value();
        KvCache cache = new KvCache(2);
        g.forward(Batch.of(new int[]{3, 7}, new int[]{5, 9}, new int[]{8, 8}), ctx, cache);
        assertThat(cache.length()).isEqualTo(4 + 2);
        INDArray last = g.forward(Batch.of(new int[]{11}, new int[]{1}, new int[]{4}), ctx, cache).hidden().value();
        for (int r = 0; r < 3; r++) {
            double diff = last.slice(r).slice(0).sub(whole.slice(r).slice(2)).amaxNumber().doubleValue();
            assertThat(diff).as("row %d (%s): cached step against the whole pass", r, tags.get(r)).isLessThan(1e-10);
        }
    }

    @Test
    void inactivePrefixLeavesTheBaseModel() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        m.load(Fixtures.dir("gpt2-tiny-prefix"), "p");
        m.setActive();
        assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("logits")), 1e-4);
    }

    /** A size field the weights file does not back is refused before anything is allocated from it (issue 14: this allocated gigabytes). */
    @Test
    void aSizeFieldTheWeightsDoNotBackIsRefusedBeforeAllocating(@TempDir Path tmp) {
        Fixtures.assertUnbackedSizeRefused("gpt2-tiny-prefix", tmp, "num_virtual_tokens", 67108863);
    }
}
