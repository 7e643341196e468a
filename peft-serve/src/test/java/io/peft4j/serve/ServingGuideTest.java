package io.peft4j.serve;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.infer.FillMask;
import io.peft4j.serve.InferenceService.Classification;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The code of docs/serving.md's library section and of {@link AdapterRegistry}'s class Javadoc, compiled and run on
 * bert-tiny with adapters made for it instead of BERT-base; keep them in step.
 */
class ServingGuideTest {
    @Test
    void theGuidesExampleRuns(@TempDir Path tmp) {
        Path base = ServeFixtures.bertBase(tmp);
        Map<String, Path> dirs = ServeFixtures.classifiers(base, tmp.resolve("adapters"));
        Path spamDir = dirs.get("prompt-verbalizer"), sentimentDir = dirs.get("lora"), sentimentV2 = dirs.get("ia3");
        Path mlmDir = ServeFixtures.plainAdapter(base, tmp.resolve("mlm"), LoraConfig.defaults().withR(2), 5);

        AdapterRegistry.Options options = AdapterRegistry.Options.builder()
                .maxLoadedAdapters(8)
                .maxBatchRows(32)
                .maxWaitMillis(5)
                .queueCapacity(1024)
                .requestTimeout(Duration.ofSeconds(30))
                .maxInputTokens(512)
                .maxInputsPerRequest(256)
                .maxPredictionsPerRequest(10_000)
                .build();
        try (AdapterRegistry registry = AdapterRegistry.open(base.toString(), options)) {
            registry.register("spam", spamDir);
            registry.load("sentiment", sentimentDir);
            registry.register("mlm", mlmDir);

            CompletableFuture<List<Classification>> a = registry.classify("spam", List.of(Map.of("text", "Win a free cruise!")));
            CompletableFuture<List<Classification>> b = registry.classify("sentiment", List.of(Map.of("text", "A gripping film")));
            Classification c = a.join().get(0);
            assertThat(c.probabilities().keySet()).containsExactly("positive", "negative");
            assertThat(c.probabilities().values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1, org.assertj.core.api.Assertions.within(1e-6));
            assertThat(b.join().get(0).probabilities()).containsOnlyKeys(ServeFixtures.LABELS);
            List<List<FillMask.Prediction>> words = registry.fillMask("mlm", List.of("The [MASK] was cold."), 5).join();
            assertThat(words.get(0)).hasSize(5);

            registry.load("sentiment", sentimentV2);
            registry.unload("mlm");
            assertThat(registry.adapters()).extracting(InferenceService.AdapterInfo::name).containsExactly("spam", "sentiment");
            assertThat(registry.adapter("sentiment").method()).isEqualTo("ia3");
        }

        // the class Javadoc's example
        try (AdapterRegistry registry = AdapterRegistry.open(base,
                AdapterRegistry.Options.builder().maxLoadedAdapters(8).maxBatchRows(32).maxWaitMillis(5).build())) {
            registry.register("spam", sentimentDir);
            registry.load("topic", spamDir);
            List<InferenceService.Classification> c = registry.classify("spam", List.of(Map.of("text", "Win a free cruise!"))).join();
            assertThat(c.get(0).label()).isIn(ServeFixtures.LABELS);
            registry.load("spam", sentimentV2);
        }
    }
}
