package io.peft4j.core.model;

import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Packed rows on the decoders: several examples in one row with segment ids compute exactly what each computes alone
 * (block-diagonal causal attention, positions restarted per example): the logits at every packed position equal the
 * example's own within 1e-4, and the causal-LM loss of packed rows equals the token-weighted mean of the examples'
 * losses within 1e-5 (float32).
 */
class PackedRowsTest {
    /** Three examples of lengths 6, 3 and 7, the loss on their last tokens (a response) only. */
    static List<Example.Lm> examples(int vocab, long seed) {
        Random rnd = new Random(seed);
        List<Example.Lm> out = new ArrayList<>();
        int[][] shapes = {{2, 4}, {1, 2}, {4, 3}};       // prompt, response
        for (int[] s : shapes) {
            int[] prompt = rnd.ints(s[0], 3, vocab).toArray(), response = rnd.ints(s[1], 3, vocab).toArray();
            out.add(Example.Lm.response(prompt, response));
        }
        return out;
    }

    static double targets(Example.Lm e) {
        int n = 0;
        for (int i = 1; i < e.ids().length; i++) n += e.lossMask()[i];
        return n;
    }

    private static double loss(PeftModel m, List<Example.Lm> batch) {
        return Objectives.causalLm(0).loss(m, batch, ForwardContext.inference(batch.size())).value().getDouble(0);
    }

    /** The token-weighted mean of the examples' losses, each run alone. */
    static double weighted(PeftModel m, List<Example.Lm> examples) {
        double sum = 0, n = 0;
        for (Example.Lm e : examples) {
            sum += targets(e) * loss(m, List.of(e));
            n += targets(e);
        }
        return sum / n;
    }

    private static void assertPackedMatchesAlone(TransformerModel base) {
        PeftModel m = PeftModel.of(base);
        List<Example.Lm> ex = examples(base.config().vocabSize(), 5);
        Example.Lm row = Fixtures.packRow(ex);
        // the loss: one packed row; two rows of a padded batch (one packed, one not); the examples padded unpacked
        double alone = weighted(m, ex);
        assertThat(loss(m, List.of(row))).as("packed row's loss").isCloseTo(alone, org.assertj.core.data.Offset.offset(1e-5));
        Example.Lm firstTwo = Fixtures.packRow(ex.subList(0, 2));
        assertThat(loss(m, List.of(firstTwo, ex.get(2)))).as("packed and unpacked rows, padded").isCloseTo(alone, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(loss(m, List.of(ex.get(2), firstTwo))).as("unpacked row first, packed row padded").isCloseTo(alone, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(loss(m, ex)).as("the unpacked batch").isCloseTo(alone, org.assertj.core.data.Offset.offset(1e-5));

        // the logits at every position
        Batch packed = Objectives.collateLm(List.of(row));
        assertThat(packed.positions()[0]).containsExactly(0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6);
        INDArray logits = base.lmLogits(m.forward(packed, ForwardContext.inference(1)).hidden()).value();
        int at = 0;
        for (int k = 0; k < ex.size(); k++) {
            int[] ids = ex.get(k).ids();
            INDArray own = base.lmLogits(m.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value();
            for (int i = 0; i < ids.length; i++, at++) {
                double diff = logits.slice(0).getRow(at).sub(own.slice(0).getRow(i)).amaxNumber().doubleValue();
                assertThat(diff).as("example %d token %d: logits packed against alone", k, i).isLessThan(1e-4);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "llama3-rope-tiny", "qwen2-tiny"})
    void packedRowComputesEachExampleAsAlone(String fixture) {
        assertPackedMatchesAlone(Models.load(Fixtures.dir(fixture), DataType.FLOAT));
    }

    /** Mistral's sliding window counts from each example's start: llama-tiny's weights with a window of 3. */
    @Test
    void slidingWindowCountsWithinTheExample(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mistral-tiny"));
        try (var files = Files.list(Fixtures.dir("llama-tiny"))) {
            for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, dir.resolve(f.getFileName()));
        }
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(dir.resolve("config.json"));
        cfg.put("model_type", "mistral");
        cfg.put("sliding_window", 3);
        Json.write(dir.resolve("config.json"), cfg);
        TransformerModel mistral = Models.load(dir, DataType.FLOAT);
        assertThat(mistral.architecture()).isEqualTo(Mistral.ARCHITECTURE);
        assertPackedMatchesAlone(mistral);
    }

    @Test
    void segmentsAreCheckedAndRefusedWhereTheyCannotApply() {
        int[][] ids = {{5, 6, 7, 8}};
        assertThatThrownBy(() -> new Batch(ids, null, null, new int[][]{{1, 2, 1, 1}}, null)).hasMessageContaining("returns to segment 1");
        assertThatThrownBy(() -> new Batch(ids, null, null, new int[][]{{1, 1, 0, 2}}, null)).hasMessageContaining("need ≥ 1");
        assertThat(new Batch(ids, null, new int[][]{{1, 1, 1, 0}}, new int[][]{{1, 2, 2, 0}}, null).positions()[0]).containsExactly(0, 0, 1, 0);
        Batch packed = new Batch(ids, null, null, new int[][]{{1, 1, 2, 2}}, null);
        Decoder gpt2 = (Decoder) Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        assertThatThrownBy(() -> gpt2.forward(packed, ForwardContext.inference(1), new KvCache(gpt2.config().layers())))
                .hasMessageContaining("not with a key/value cache");
        TransformerModel bert = Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
        assertThatThrownBy(() -> bert.forward(packed, ForwardContext.inference(1))).hasMessageContaining("for decoders");
    }
}
