package io.peft4j.probe;

import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Encoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The feature cache: hits without running the model, and foreign or damaged files detected and rebuilt. */
class FeatureCacheTest {
    static final List<Integer> LAYERS = List.of(0, 1, 2);
    static final List<Pooling> POOLINGS = List.of(Pooling.CLS, Pooling.MEAN);

    static Features extract(TransformerModel m, List<Encoding> inputs) {
        return new FeatureExtractor(m, LAYERS, POOLINGS, 3).extract(inputs, ProbeListener.NONE);
    }

    static void assertSame(Features a, Features b) {
        for (int l : b.layers()) for (Pooling p : b.poolings()) assertThat(a.matrix(l, p)).containsExactly(b.matrix(l, p));
    }

    @Test
    void secondRunReadsTheCacheWithoutRunningTheModel(@TempDir Path tmp) {
        TransformerModel bert = TinyModels.bert();
        var passes = TinyModels.countPasses(bert);
        List<Encoding> inputs = TinyModels.randomInputs(8, 10, 101, 5);
        FeatureKey key = FeatureKey.of(bert, inputs, 40, LAYERS, POOLINGS);
        FeatureCache cache = FeatureCache.in(tmp, key);
        Features first = cache.getOrCompute(key, () -> extract(bert, inputs));
        assertThat(passes.get()).isEqualTo(3);
        assertThat(cache.file()).isRegularFile();

        // the same model loaded again has the same fingerprint: its cache answers without a pass
        TransformerModel again = TinyModels.bert();
        var passesAgain = TinyModels.countPasses(again);
        FeatureKey key2 = FeatureKey.of(again, inputs, 40, LAYERS, POOLINGS);
        assertThat(key2).isEqualTo(FeatureKey.of(bert, inputs, 40, LAYERS, POOLINGS));
        Features second = new FeatureCache(cache.file()).getOrCompute(key2, () -> extract(again, inputs));
        assertThat(passesAgain.get()).isZero();
        assertSame(second, first);

        // a request for fewer layers and poolings is answered from the same file
        FeatureKey subset = FeatureKey.of(again, inputs, 40, List.of(2), List.of(Pooling.MEAN));
        Features part = new FeatureCache(cache.file()).getOrCompute(subset, () -> {
            throw new AssertionError("the model should not run");
        });
        assertThat(part.matrix(2, Pooling.MEAN)).containsExactly(first.matrix(2, Pooling.MEAN));
    }

    @Test
    void cacheOfAnotherModelOrOtherDataIsDetectedAndRebuilt(@TempDir Path tmp) {
        TransformerModel bert = TinyModels.bert();
        var passes = TinyModels.countPasses(bert);
        Path file = tmp.resolve("features.safetensors");
        List<Encoding> a = TinyModels.randomInputs(6, 10, 97, 1), b = TinyModels.randomInputs(6, 10, 97, 2);
        FeatureCache cache = new FeatureCache(file);
        cache.getOrCompute(FeatureKey.of(bert, a, 40, LAYERS, POOLINGS), () -> extract(bert, a));
        assertThat(passes.get()).isEqualTo(2);

        // other data: rebuilt
        FeatureKey keyB = FeatureKey.of(bert, b, 40, LAYERS, POOLINGS);
        assertThat(cache.read(keyB)).isEmpty();
        Features fb = cache.getOrCompute(keyB, () -> extract(bert, b));
        assertThat(passes.get()).isEqualTo(4);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.metadata().get("data")).isEqualTo(keyB.data());
        }

        // another model (GPT-2, same width) on the same data: rebuilt with its features
        TransformerModel gpt2 = TinyModels.gpt2();
        var gptPasses = TinyModels.countPasses(gpt2);
        FeatureKey keyG = FeatureKey.of(gpt2, b, 40, LAYERS, POOLINGS);
        assertThat(keyG.model()).isNotEqualTo(keyB.model());
        Features fg = cache.getOrCompute(keyG, () -> extract(gpt2, b));
        assertThat(gptPasses.get()).isEqualTo(2);
        assertThat(fg.matrix(2, Pooling.MEAN)).isNotEqualTo(fb.matrix(2, Pooling.MEAN));

        // the same architecture with changed weights (one LayerNorm scaled): another fingerprint
        TransformerModel tuned = TinyModels.bert();
        tuned.parameters().get("encoder.layer.1.output.LayerNorm.weight").value().muli(1.01);
        assertThat(FeatureKey.modelFingerprint(tuned)).isNotEqualTo(FeatureKey.modelFingerprint(bert));
        // a longer max length or more layers than cached: not covered
        assertThat(keyB.covers(FeatureKey.of(bert, b, 64, LAYERS, POOLINGS))).isFalse();
        assertThat(new FeatureKey(keyB.model(), keyB.data(), 40, List.of(1), POOLINGS, 6, 32).covers(keyB)).isFalse();
    }

    @Test
    void damagedCacheIsRebuilt(@TempDir Path tmp) throws Exception {
        TransformerModel bert = TinyModels.bert();
        var passes = TinyModels.countPasses(bert);
        List<Encoding> inputs = TinyModels.randomInputs(5, 10, 101, 9);
        FeatureKey key = FeatureKey.of(bert, inputs, 40, LAYERS, POOLINGS);
        Path file = tmp.resolve("c.safetensors");
        FeatureCache cache = new FeatureCache(file);
        Features good = cache.getOrCompute(key, () -> extract(bert, inputs));
        byte[] bytes = Files.readAllBytes(file);
        int expected = 2;
        List<byte[]> damaged = new ArrayList<>();
        damaged.add(java.util.Arrays.copyOf(bytes, bytes.length / 2));            // truncated
        damaged.add("not a safetensors file at all".getBytes());                  // garbage
        damaged.add(new byte[0]);                                                  // empty
        for (byte[] d : damaged) {
            Files.write(file, d);
            assertThat(cache.read(key)).isEmpty();
            Features rebuilt = cache.getOrCompute(key, () -> extract(bert, inputs));
            expected += 2;
            assertThat(passes.get()).isEqualTo(expected);
            assertSame(rebuilt, good);
            assertThat(cache.read(key)).isPresent();                                // whole again
        }
        // a valid safetensors file without the cache's metadata
        SafeTensors.write(file, java.util.Map.of("x", org.nd4j.linalg.factory.Nd4j.zeros(2, 2)), java.util.Map.of());
        assertThat(cache.read(key)).isEmpty();
    }

    @Test
    void probingRunUsesTheCacheOnItsSecondRun(@TempDir Path tmp) {
        TransformerModel bert = TinyModels.bert();
        var passes = TinyModels.countPasses(bert);
        var tok = TinyModels.bertTokenizer();
        LabeledTexts train = ProbingTest.containsW7(60, 1), dev = ProbingTest.containsW7(30, 2);
        ProbeConfig cfg = ProbeConfig.defaults().withCacheDirectory(tmp).withBatchSize(8);
        ProbeResult first = Probing.run(bert, tok, "bert-tiny", train, dev, cfg, ProbeListener.NONE);
        int afterFirst = passes.get();
        assertThat(afterFirst).isEqualTo(12);                                      // 90 examples in batches of 8
        assertThat(first.extraction().fromCache()).isFalse();
        ProbeResult second = Probing.run(bert, tok, "bert-tiny", train, dev, cfg, ProbeListener.NONE);
        assertThat(passes.get()).isEqualTo(afterFirst);
        assertThat(second.extraction().fromCache()).isTrue();
        assertThat(second.extraction().cache()).isEqualTo(first.extraction().cache());
        assertThat(second.scores()).isEqualTo(first.scores());
    }
}
