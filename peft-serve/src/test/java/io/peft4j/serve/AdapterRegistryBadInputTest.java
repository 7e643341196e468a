package io.peft4j.serve;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a registry does with adapters it cannot serve: another base's adapter, a corrupt weights file, a name with path
 * characters, and load and unload of one name racing. Each is one clear error, and the other adapters keep answering.
 */
@Timeout(120)
class AdapterRegistryBadInputTest {
    static final Map<String, String> INPUT = Map.of("text", "the movie was great");

    @Test
    void anotherBasesAdapterIsRefusedNamingBothShapes(@TempDir Path tmp) {
        Path bert = ServeFixtures.bertBase(tmp), gpt2 = ServeFixtures.gpt2Base(tmp);
        Path foreign = ServeFixtures.plainAdapter(gpt2, tmp.resolve("gpt2-lora"), LoraConfig.defaults().withR(2).withTargetModules("c_attn"), 1);
        try (AdapterRegistry r = AdapterRegistry.open(bert, AdapterRegistry.Options.defaults())) {
            assertThatThrownBy(() -> r.load("foreign", foreign)).isInstanceOf(PeftException.class).hasMessageContaining("adapter_config.json")
                    .hasMessageContaining("c_attn");
            assertThat(r.adapters()).isEmpty();
        }
    }

    @Test
    void aCorruptAdapterIsOneErrorAndTheOthersKeepServing(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path good = ServeFixtures.headClassifier(base, tmp.resolve("good"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        Path bad = ServeFixtures.headClassifier(base, tmp.resolve("bad"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 2);
        Path weights = bad.resolve("adapter_model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2), StandardOpenOption.TRUNCATE_EXISTING);
        try (AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.defaults())) {
            r.register("good", good);
            var before = r.classify("good", List.of(INPUT)).join();
            assertThatThrownBy(() -> r.load("bad", bad)).isInstanceOf(PeftException.class).hasMessageContaining("adapter_model.safetensors");
            assertThatThrownBy(() -> r.register("lazy-bad", bad)).isInstanceOf(PeftException.class)   // its header is read at registration
                    .hasMessageContaining("adapter_model.safetensors").hasMessageContaining("lazy-bad");
            assertThat(r.adapters()).extracting(InferenceService.AdapterInfo::name).containsExactly("good");
            assertThat(r.classify("good", List.of(INPUT)).join()).isEqualTo(before);
        }
    }

    @Test
    void namesWithPathCharactersAreRefused(@TempDir Path tmp) {
        Path base = ServeFixtures.bertBase(tmp);
        Path good = ServeFixtures.headClassifier(base, tmp.resolve("good"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        try (AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.defaults())) {
            for (String name : List.of("../good", "a/b", "a\\b", "", "..")) {
                assertThatThrownBy(() -> r.register(name, good)).as(name).isInstanceOf(RuntimeException.class).hasMessageContaining("name");
            }
            assertThat(r.adapters()).isEmpty();
        }
    }

    /** Loads and unloads of one name from 4 threads: every call either succeeds or fails cleanly, and the registry still serves. */
    @Test
    void racingLoadAndUnloadOfOneNameLeaveAConsistentRegistry(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path a = ServeFixtures.headClassifier(base, tmp.resolve("a"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        Path b = ServeFixtures.headClassifier(base, tmp.resolve("b"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 2);
        try (AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.defaults())) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        try {
                            if ((i + id) % 3 == 2) r.unload("x");
                            else r.load("x", (i + id) % 2 == 0 ? a : b);
                            r.classify("x", List.of(INPUT)).join();
                        } catch (ServeException | CompletionException e) {
                            Throwable c = e instanceof CompletionException ? e.getCause() : e;
                            assertThat(c).isInstanceOf(ServeException.class);          // unloaded meanwhile: a clean refusal
                            assertThat(((ServeException) c).kind()).isEqualTo(ServeException.Kind.UNKNOWN_ADAPTER);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
            pool.shutdown();
            r.load("x", a);
            var fromA = r.classify("x", List.of(INPUT)).join();
            try (AdapterRegistry fresh = AdapterRegistry.open(base, AdapterRegistry.Options.defaults())) {
                fresh.load("x", a);
                assertThat(fromA).isEqualTo(fresh.classify("x", List.of(INPUT)).join());
            }
            assertThat(r.adapters()).extracting(InferenceService.AdapterInfo::name).containsExactly("x");
        }
    }
}
