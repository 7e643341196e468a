package io.peft4j.serve;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.serve.InferenceService.Generation;
import io.peft4j.serve.InferenceService.GenerationParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Generation on a decoder base (gpt2-tiny) with plain adapters of several methods, switched per request. */
class AdapterRegistryGenerateTest {
    @TempDir
    static Path tmp;
    static Path base;
    static Map<String, Path> adapters = new LinkedHashMap<>();
    static final List<String> PROMPTS = List.of("abc", "hello there", "x=1;y");

    @BeforeAll
    static void fixtures() {
        base = ServeFixtures.gpt2Base(tmp);
        adapters.put("lora", ServeFixtures.plainAdapter(base, tmp.resolve("lora"), LoraConfig.defaults().withR(4), 41));
        adapters.put("prefix", ServeFixtures.plainAdapter(base, tmp.resolve("prefix"), PrefixTuningConfig.of(3), 42));
        adapters.put("prompt", ServeFixtures.plainAdapter(base, tmp.resolve("prompt"), PromptTuningConfig.random(3), 43));
    }

    /** What {@link Generator} gives with the adapter loaded alone on a model of its own (null: the bare base). */
    private static Generation reference(String adapter, String prompt, GenerationParams p) {
        PeftModel pm = PeftModel.of(Models.load(base, DataType.FLOAT));
        if (adapter != null) pm.load(adapters.get(adapter), "default");
        Tokenizer tok = Tokenizers.load(base);
        int[] eos = Models.eosTokenIds(base, tok.eosId());
        int[] gen = Generator.generate((Decoder) pm.base(), tok.encodeText(prompt), p.maxNewTokens(), p.temperature(), p.seed(), eos);
        boolean atEos = gen.length > 0 && java.util.Arrays.stream(eos).anyMatch(x -> x == gen[gen.length - 1]);
        return new Generation(tok.decode(gen, true), gen.length, atEos ? "eos" : "length");
    }

    private static AdapterRegistry open(AdapterRegistry.Options o) {
        AdapterRegistry r = AdapterRegistry.open(base, o);
        adapters.forEach(r::register);
        return r;
    }

    private static AdapterRegistry.Options.Builder options() {
        return AdapterRegistry.Options.builder().maxWaitMillis(0);
    }

    @Test
    void greedyAndSeededSamplingEqualEachAdapterOnAModelOfItsOwn() {
        List<String> names = new ArrayList<>(adapters.keySet());
        names.add(null);
        GenerationParams greedy = new GenerationParams(10, 0, 0, List.of());
        GenerationParams sampled = new GenerationParams(10, 1.3, 7, List.of());
        try (AdapterRegistry r = open(options().build())) {
            assertThat(r.isDecoder()).isTrue();
            assertThat(r.modelType()).isEqualTo("gpt2");
            Map<String, List<Generation>> first = new LinkedHashMap<>();
            for (String a : names) {
                List<Generation> g = r.generate(a, PROMPTS, greedy).join();
                List<Generation> s = r.generate(a, PROMPTS, sampled).join();
                for (int i = 0; i < PROMPTS.size(); i++) {
                    assertThat(g.get(i)).as(a + " greedy " + i).isEqualTo(reference(a, PROMPTS.get(i), greedy));
                    assertThat(s.get(i)).as(a + " sampled " + i).isEqualTo(reference(a, PROMPTS.get(i), sampled));
                }
                assertThat(r.generate(a, PROMPTS, sampled).join()).as("the seed reproduces").isEqualTo(s);
                first.put(String.valueOf(a), g);
            }
            assertThat(first.values().stream().distinct().count()).as("the adapters change the text").isGreaterThan(1);

            // requests for every adapter at once (the worker runs them one prompt at a time, each with its adapter)
            Map<String, CompletableFuture<List<Generation>>> together = new LinkedHashMap<>();
            for (String a : names) together.put(String.valueOf(a), r.generate(a, PROMPTS, greedy));
            together.forEach((a, f) -> assertThat(f.join()).as(a).isEqualTo(first.get(a)));
        }
    }

    @Test
    void stopStringsEndTheTextBeforeThem() {
        GenerationParams greedy = new GenerationParams(12, 0, 0, List.of());
        try (AdapterRegistry r = open(options().build())) {
            Generation full = r.generate("lora", List.of("abc"), greedy).join().get(0);
            assertThat(full.text().length()).as(full.toString()).isGreaterThanOrEqualTo(3);
            String stop = full.text().substring(2, 3);
            int at = full.text().indexOf(stop);
            Generation cut = r.generate("lora", List.of("abc"), new GenerationParams(12, 0, 0, List.of(stop, "\u0000never"))).join().get(0);
            assertThat(cut.text()).isEqualTo(full.text().substring(0, at));
            assertThat(cut.finishReason()).isEqualTo("stop");
            assertThat(cut.tokens()).isLessThanOrEqualTo(at + 1);
            Generation none = r.generate("lora", List.of("abc"), new GenerationParams(0, 0, 0, List.of())).join().get(0);
            assertThat(none).isEqualTo(new Generation("", 0, "length"));
        }
    }

    @Test
    void mergedLoraGeneratesWhatUnmergedDoes() {
        GenerationParams greedy = new GenerationParams(10, 0, 0, List.of());
        List<Generation> unmerged;
        try (AdapterRegistry r = open(options().build())) {
            unmerged = r.generate("lora", PROMPTS, greedy).join();
        }
        try (AdapterRegistry r = open(options().mergePolicy(new AdapterRegistry.MergePolicy(1.0, 2)).build())) {
            for (int i = 0; i < 4; i++) assertThat(r.generate("lora", PROMPTS, greedy).join()).as("round " + i).isEqualTo(unmerged);
            assertThat(r.adapter("lora").merged()).isTrue();
            assertThat(r.generate(null, PROMPTS, greedy).join()).isEqualTo(PROMPTS.stream().map(p -> reference(null, p, greedy)).toList());
            assertThat(r.adapter("lora").merged()).isFalse();
            assertThat(r.generate("lora", PROMPTS, greedy).join()).isEqualTo(unmerged);
        }
    }

    /** Classifiers trained on a decoder (a head on the last token) mix in one batch and equal the CLI's classifier. */
    @Test
    void decoderClassifiersMixInOneBatchAndEqualTheCliClassifier() {
        Map<String, Path> clfs = new LinkedHashMap<>();
        clfs.put("c-lora", ServeFixtures.headClassifier(base, tmp.resolve("c-lora"), LoraConfig.defaults().withR(4), "lora", List.of("text"), 51));
        clfs.put("c-prefix", ServeFixtures.headClassifier(base, tmp.resolve("c-prefix"), PrefixTuningConfig.of(2), "prefix_tuning", List.of("text"), 52));
        clfs.put("c-prompt", ServeFixtures.headClassifier(base, tmp.resolve("c-prompt"), PromptTuningConfig.random(2), "prompt_tuning", List.of("text"), 53));
        List<Map<String, String>> inputs = List.of(Map.of("text", "abc"), Map.of("text", "hello there world"), Map.of("text", "x"));
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().build())) {
            clfs.forEach(r::register);
            r.addBatchListener(gate);
            Map<String, List<InferenceService.Classification>> alone = new LinkedHashMap<>();
            for (String a : clfs.keySet()) {
                List<InferenceService.Classification> rows = new ArrayList<>();
                for (Map<String, String> in : inputs) rows.add(r.classify(a, List.of(in)).join().get(0));
                alone.put(a, rows);
                var cli = io.peft4j.prompt.task.ClassifierDirectory.load(clfs.get(a), base.toString()).classifier();
                double[][] lp = cli.logProbabilities(inputs, 4);
                for (int i = 0; i < inputs.size(); i++) {
                    for (int c = 0; c < lp[i].length; c++) {
                        assertThat(rows.get(i).probabilities().get(cli.labels().get(c))).as(a + " vs the CLI")
                                .isCloseTo(Math.exp(lp[i][c]), org.assertj.core.api.Assertions.within(1e-5));
                    }
                }
            }
            gate.arm();
            var warm = r.classify("c-lora", inputs);
            gate.awaitHeld();
            Map<String, CompletableFuture<List<InferenceService.Classification>>> mixed = new LinkedHashMap<>();
            for (String a : clfs.keySet()) mixed.put(a, r.classify(a, inputs));
            gate.release();
            warm.join();
            for (String a : clfs.keySet()) {
                for (int i = 0; i < inputs.size(); i++) AdapterRegistryTest.assertSame(mixed.get(a).join().get(i), alone.get(a).get(i), 1e-5, a + " " + i);
            }
            assertThat(gate.largestBatch()).isEqualTo(clfs.size());
        }
    }

    @Test
    void aDecoderBaseRefusesFillMaskAndBadParameters() {
        try (AdapterRegistry r = open(options().maxInputTokens(8).build())) {
            assertThatThrownBy(() -> r.fillMask(null, List.of("a [MASK]"), 3).join()).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(ServeException.class).hasMessageContaining("decoder");
            assertThatThrownBy(() -> r.generate("lora", List.of("abc"), new GenerationParams(-1, 0, 0, List.of())).join())
                    .hasMessageContaining("max new tokens");
            assertThatThrownBy(() -> r.generate("lora", List.of("abc"), new GenerationParams(3, 0, 0, List.of(""))).join())
                    .hasMessageContaining("empty stop string");
            assertThatThrownBy(() -> r.generate("lora", List.of("abc", "abcdefghijklmnop"), new GenerationParams(3, 0, 0, List.of())).join())
                    .hasMessageContaining("'lora'").hasMessageContaining("input 2").hasMessageContaining("16 tokens");
            assertThatThrownBy(() -> r.classify("lora", List.of(Map.of("text", "abc"))).join()).hasMessageContaining("generate");
        }
    }
}
