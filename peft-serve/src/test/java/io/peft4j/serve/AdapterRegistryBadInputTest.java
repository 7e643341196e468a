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

    /**
     * A directory retrained in place with another label set after it was registered: its requests are answered with the
     * labels of what was loaded, and the other adapter of the same batch is untouched.
     */
    @Test
    void aDirectoryRetrainedInPlaceIsServedWithWhatWasLoaded(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path other = ServeFixtures.headClassifier(base, tmp.resolve("other"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        Path dir = ServeFixtures.headClassifier(base, tmp.resolve("spam"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 2);
        List<String> newLabels = List.of("ham", "junk", "normal", "spam");
        Path retrained = ServeFixtures.headClassifier(base, tmp.resolve("spam-v2"), LoraConfig.defaults().withR(2), "lora", List.of("text"), newLabels, 3);
        Gate gate = new Gate();
        try (AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.builder().maxWaitMillis(0).build())) {
            r.register("other", other);
            r.register("spam", dir);
            var alone = r.classify("other", List.of(INPUT)).join().get(0);
            assertThat(r.adapter("spam").labels()).isEqualTo(ServeFixtures.LABELS);
            try (var files = Files.list(retrained)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.copy(f, dir.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            r.addBatchListener(gate);
            gate.arm();
            var warm = r.classify("other", List.of(INPUT));
            gate.awaitHeld();
            var spam = r.classify("spam", List.of(INPUT));
            var mixed = r.classify("other", List.of(INPUT));
            gate.release();
            warm.join();
            AdapterRegistryTest.assertSame(mixed.join().get(0), alone, 1e-5, "the other adapter");
            assertThat(spam.join().get(0).probabilities().keySet()).containsExactlyElementsOf(newLabels);
            assertThat(gate.largestBatch()).as("both adapters in one batch").isEqualTo(2);
            assertThat(r.adapter("spam").labels()).isEqualTo(newLabels);
            try (AdapterRegistry fresh = AdapterRegistry.open(base, AdapterRegistry.Options.defaults())) {
                fresh.register("spam", dir);
                AdapterRegistryTest.assertSame(spam.join().get(0), fresh.classify("spam", List.of(INPUT)).join().get(0), 1e-5, "spam, retrained");
            }
        }
    }

    /** With an adapter root, a file linked outside it is refused when registered, and when a registered directory is loaded later. */
    @Test
    void anAdapterRootRefusesFilesLinkedOutsideItAtRegistrationAndAtALaterLoad(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path outside = ServeFixtures.headClassifier(base, tmp.resolve("outside"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        Path a = ServeFixtures.headClassifier(base, root.resolve("a"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 2);
        Path b = ServeFixtures.headClassifier(base, root.resolve("b"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 3);
        Path sneaky = ServeFixtures.headClassifier(base, root.resolve("sneaky"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 4);
        Path inside = ServeFixtures.headClassifier(base, root.resolve("inside"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 5);
        relink(sneaky.resolve("head.safetensors"), outside.resolve("head.safetensors"));
        relink(inside.resolve("head.safetensors"), b.resolve("head.safetensors"));
        try (AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.builder().adapterRoot(root).build())) {
            for (var call : List.<Runnable>of(() -> r.register("sneaky", sneaky), () -> r.load("sneaky", sneaky))) {
                assertThatThrownBy(call::run).isInstanceOf(ServeException.class).hasMessageContaining("head.safetensors")
                        .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.FORBIDDEN);
            }
            r.register("inside", inside);                        // a link that stays inside the root is fine
            assertThat(r.classify("inside", List.of(INPUT)).join()).hasSize(1);
            r.register("a", a);                                  // lazily: its weights are read on its first request
            r.register("b", b);
            relink(a.resolve("head.safetensors"), outside.resolve("head.safetensors"));
            var f = r.classify("a", List.of(INPUT));
            assertThatThrownBy(f::join).cause().isInstanceOf(ServeException.class).hasMessageContaining("head.safetensors")
                    .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.FORBIDDEN);
            assertThat(r.classify("b", List.of(INPUT)).join()).hasSize(1);
        }
    }

    private static void relink(Path file, Path target) throws java.io.IOException {
        Files.delete(file);
        Files.createSymbolicLink(file, target);
    }

    /** close() racing loads and requests: nothing hangs, a request is always a future (never a thrown exception), every call ends cleanly. */
    @Test
    void closeRacingLoadsAndRequestsNeverHangs(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path a = ServeFixtures.headClassifier(base, tmp.resolve("a"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 1);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            for (int round = 0; round < 8; round++) {
                AdapterRegistry r = AdapterRegistry.open(base, AdapterRegistry.Options.defaults());
                r.register("a", a);
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                Future<?> loads = pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < 5; i++) {
                        try {
                            r.load("a", a);
                        } catch (ServeException e) {
                            assertThat(e.kind()).isEqualTo(ServeException.Kind.OVERLOADED);
                        }
                    }
                    return null;
                });
                Future<List<java.util.concurrent.CompletableFuture<?>>> requests = pool.submit(() -> {
                    go.await();
                    List<java.util.concurrent.CompletableFuture<?>> fs = new ArrayList<>();
                    for (int i = 0; i < 20; i++) fs.add(r.classify("a", List.of(INPUT)));
                    return fs;
                });
                Future<?> closing = pool.submit(() -> {
                    go.await();
                    r.close();
                    return null;
                });
                go.countDown();
                closing.get();
                loads.get();
                for (var f : requests.get()) {
                    try {
                        f.join();
                    } catch (CompletionException e) {
                        assertThat(e.getCause()).isInstanceOf(ServeException.class);
                        assertThat(((ServeException) e.getCause()).kind()).isEqualTo(ServeException.Kind.OVERLOADED);
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }
}
