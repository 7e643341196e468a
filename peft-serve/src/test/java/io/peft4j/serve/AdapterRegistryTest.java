package io.peft4j.serve;

import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.infer.FillMask;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.serve.InferenceService.Classification;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AdapterRegistryTest {
    @TempDir
    static Path tmp;
    static Path base;
    static Map<String, Path> dirs;

    @BeforeAll
    static void fixtures() {
        base = ServeFixtures.bertBase(tmp);
        dirs = ServeFixtures.classifiers(base, tmp.resolve("adapters"));
    }

    private static AdapterRegistry.Options.Builder options() {
        return AdapterRegistry.Options.builder().maxLoadedAdapters(32).maxBatchRows(256).maxWaitMillis(0);
    }

    private static AdapterRegistry open(AdapterRegistry.Options o) {
        return AdapterRegistry.open(base, o);
    }

    private static void registerAll(AdapterRegistry r) {
        dirs.forEach(r::register);
    }

    /** Asserts two classifications agree: the same labels, each probability within {@code tol}, the same answer. */
    static void assertSame(Classification actual, Classification expected, double tol, String what) {
        assertThat(actual.probabilities().keySet()).as(what).containsExactlyElementsOf(expected.probabilities().keySet());
        for (String l : expected.probabilities().keySet()) {
            assertThat(actual.probabilities().get(l)).as(what + " p(" + l + ")")
                    .isCloseTo(expected.probabilities().get(l), org.assertj.core.api.Assertions.within(tol));
        }
        double top = expected.probabilities().get(expected.label());
        boolean tie = expected.probabilities().entrySet().stream().anyMatch(e -> !e.getKey().equals(expected.label()) && top - e.getValue() <= 2 * tol);
        if (!tie) assertThat(actual.label()).as(what).isEqualTo(expected.label());
    }

    private static ServeException.Kind kindOf(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof ServeException s) return s.kind();
            throw e;
        }
        throw new AssertionError("the request did not fail");
    }

    private static String messageOf(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause().getMessage();
        }
        throw new AssertionError("the request did not fail");
    }

    private record Req(String adapter, Map<String, String> input) {
    }

    private static List<Req> requests(Random rnd, int perAdapter) {
        List<Req> out = new ArrayList<>();
        for (String a : dirs.keySet()) for (int i = 0; i < perAdapter; i++) out.add(new Req(a, ServeFixtures.input(a, rnd)));
        return out;
    }

    // ------------------------------------------------------------------ mixed batches

    /**
     * Every method (LoRA, IA3, bottleneck, prompt tuning, prefix, P-tuning, soft tokens, a head alone; heads, templates
     * with verbalizers and with a head) in one batch: each result equals the request run alone, and alone equals what
     * the CLI's {@link ClassifierDirectory#load} gives on a model of its own.
     */
    @Test
    void mixedBatchOfEveryMethodEqualsEachRequestAloneAndTheCliClassifier() {
        mixedEqualsAlone(DataType.FLOAT, 1e-5, true);
    }

    /** With a float64 base the mixed batch agrees with the requests alone to 1e-10. */
    @Test
    void float64MixedBatchEqualsEachRequestAloneWithin1e10() {
        mixedEqualsAlone(DataType.DOUBLE, 1e-10, false);
    }

    private void mixedEqualsAlone(DataType type, double tol, boolean againstCli) {
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().dataType(type).build())) {
            registerAll(r);
            r.addBatchListener(gate);
            List<Req> reqs = requests(new Random(42), 3);
            List<Classification> alone = new ArrayList<>();
            for (Req q : reqs) alone.add(r.classify(q.adapter(), List.of(q.input())).join().get(0));
            assertThat(gate.largestBatch()).isEqualTo(1);

            if (againstCli) {
                for (String a : dirs.keySet()) {
                    ClassifierDirectory.Loaded cli = ClassifierDirectory.load(dirs.get(a), base.toString());
                    List<Integer> idx = new ArrayList<>();
                    for (int i = 0; i < reqs.size(); i++) if (reqs.get(i).adapter().equals(a)) idx.add(i);
                    double[][] lp = cli.classifier().logProbabilities(idx.stream().map(i -> reqs.get(i).input()).toList(), 8);
                    for (int k = 0; k < idx.size(); k++) {
                        Map<String, Double> p = new LinkedHashMap<>();
                        for (int c = 0; c < lp[k].length; c++) p.put(cli.classifier().labels().get(c), Math.exp(lp[k][c]));
                        assertSame(alone.get(idx.get(k)), new Classification(cli.classifier().labels().get(argmax(lp[k])), p), 1e-5, a + " vs the CLI");
                    }
                }
            }

            gate.arm();
            CompletableFuture<List<Classification>> warm = r.classify("lora", List.of(reqs.get(0).input()));
            gate.awaitHeld();
            List<CompletableFuture<List<Classification>>> fs = new ArrayList<>();
            for (Req q : reqs) fs.add(r.classify(q.adapter(), List.of(q.input())));
            // and one request per adapter with all its inputs at once
            Map<String, CompletableFuture<List<Classification>>> multi = new LinkedHashMap<>();
            for (String a : dirs.keySet()) multi.put(a, r.classify(a, reqs.stream().filter(q -> q.adapter().equals(a)).map(Req::input).toList()));
            gate.release();
            warm.join();
            for (int i = 0; i < reqs.size(); i++) assertSame(fs.get(i).join().get(0), alone.get(i), tol, reqs.get(i).adapter() + " #" + i);
            for (String a : dirs.keySet()) {
                List<Classification> got = multi.get(a).join();
                int k = 0;
                for (int i = 0; i < reqs.size(); i++) if (reqs.get(i).adapter().equals(a)) assertSame(got.get(k++), alone.get(i), tol, a + " (all at once)");
            }
            assertThat(gate.largestBatch()).as("one batch held every request").isEqualTo(reqs.size() + dirs.size());
        }
    }

    private static int argmax(double[] x) {
        int b = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
        return b;
    }

    // ------------------------------------------------------------------ lazy loading, eviction

    @Test
    void adaptersLoadLazilyAndTheLeastRecentlyUsedIsEvictedAndComesBack() {
        List<String> names = List.of("lora", "prefix", "soft", "bottleneck");
        Random rnd = new Random(7);
        Map<String, Map<String, String>> inputs = new LinkedHashMap<>();
        for (String n : names) inputs.put(n, ServeFixtures.input(n, rnd));
        Map<String, Classification> expected = new LinkedHashMap<>();
        try (AdapterRegistry all = open(options().build())) {
            for (String n : names) all.register(n, dirs.get(n));
            for (String n : names) expected.put(n, all.classify(n, List.of(inputs.get(n))).join().get(0));
        }
        try (AdapterRegistry r = open(options().maxLoadedAdapters(2).build())) {
            for (String n : names) {
                InferenceService.AdapterInfo info = r.register(n, dirs.get(n));
                assertThat(info.loaded()).isFalse();
                assertThat(info.trainableParameters()).isPositive();
            }
            assertThat(r.adapters()).extracting(InferenceService.AdapterInfo::loaded).containsOnly(false);
            assertThat(r.installedAdapters()).isEmpty();
            List<String> order = List.of("lora", "prefix", "soft", "bottleneck", "lora", "soft", "prefix", "lora");
            List<String> recent = new ArrayList<>();
            for (String n : order) {
                assertSame(r.classify(n, List.of(inputs.get(n))).join().get(0), expected.get(n), 1e-5, n);
                recent.remove(n);
                recent.add(n);
                List<String> inMemory = recent.subList(Math.max(0, recent.size() - 2), recent.size());
                for (InferenceService.AdapterInfo a : r.adapters()) assertThat(a.loaded()).as(a.name() + " loaded").isEqualTo(inMemory.contains(a.name()));
                List<String> installed = r.installedAdapters();
                for (String x : names) {
                    boolean there = installed.stream().anyMatch(t -> t.startsWith(x + "__v"));
                    assertThat(there).as(x + " installed on the model").isEqualTo(inMemory.contains(x));
                }
            }
        }
    }

    // ------------------------------------------------------------------ reload while serving

    @Test
    void aRequestAcceptedBeforeAReloadGetsTheOldVersionAndOneAfterGetsTheNew() throws Exception {
        Path a = dirs.get("lora"), b = dirs.get("ia3");
        Map<String, String> in = Map.of("text", "the movie was not good");
        Classification oldResult, newResult;
        try (AdapterRegistry ref = open(options().build())) {
            ref.register("a", a);
            ref.register("b", b);
            oldResult = ref.classify("a", List.of(in)).join().get(0);
            newResult = ref.classify("b", List.of(in)).join().get(0);
        }
        assertThat(oldResult.probabilities()).isNotEqualTo(newResult.probabilities());
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().build())) {
            r.addBatchListener(gate);
            r.register("x", a);
            assertSame(r.classify("x", List.of(in)).join().get(0), oldResult, 1e-5, "before");

            // lazily registered replacement: both versions run in one batch
            gate.arm();
            CompletableFuture<List<Classification>> warm = r.classify("x", List.of(in));
            gate.awaitHeld();
            CompletableFuture<List<Classification>> before = r.classify("x", List.of(in));
            r.register("x", b);
            CompletableFuture<List<Classification>> after = r.classify("x", List.of(in));
            gate.release();
            warm.join();
            assertSame(before.join().get(0), oldResult, 1e-5, "accepted before the reload");
            assertSame(after.join().get(0), newResult, 1e-5, "accepted after the reload");

            // eagerly loaded replacement, from another thread while the worker is held
            gate.arm();
            warm = r.classify("x", List.of(in));
            gate.awaitHeld();
            CompletableFuture<List<Classification>> before2 = r.classify("x", List.of(in));
            CompletableFuture<InferenceService.AdapterInfo> loading = CompletableFuture.supplyAsync(() -> r.load("x", a));
            gate.release();
            assertThat(loading.join().loaded()).isTrue();
            CompletableFuture<List<Classification>> after2 = r.classify("x", List.of(in));
            assertSame(before2.join().get(0), newResult, 1e-5, "accepted before the second reload");
            assertSame(after2.join().get(0), oldResult, 1e-5, "accepted after the second reload");
            warm.join();
            // the replaced versions left memory once their requests were done
            assertThat(r.installedAdapters().stream().filter(t -> t.startsWith("x__v")).map(t -> t.replaceAll("-soft$", "")).distinct()).hasSize(1);
            assertThat(r.adapters()).hasSize(1);

            // reload() re-reads the directory
            assertThat(r.reload("x").loaded()).isTrue();
            assertSame(r.classify("x", List.of(in)).join().get(0), oldResult, 1e-5, "after reload()");
        }
    }

    // ------------------------------------------------------------------ overload, timeout, faults

    @Test
    void aFullQueueFailsWithOverloaded() {
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().queueCapacity(2).build())) {
            r.register("lora", dirs.get("lora"));
            r.addBatchListener(gate);
            Map<String, String> in = Map.of("text", "a good film");
            gate.arm();
            var warm = r.classify("lora", List.of(in));
            gate.awaitHeld();
            var one = r.classify("lora", List.of(in));
            var two = r.classify("lora", List.of(in));
            var three = r.classify("lora", List.of(in));
            assertThat(three).isCompletedExceptionally();
            assertThat(kindOf(three)).isEqualTo(ServeException.Kind.OVERLOADED);
            assertThat(messageOf(three)).contains("lora").contains("full");
            gate.release();
            warm.join();
            assertThat(one.join()).hasSize(1);
            assertThat(two.join()).hasSize(1);
            assertThat(r.classify("lora", List.of(in)).join()).hasSize(1);
        }
    }

    @Test
    void aRequestNotAnsweredInTimeFailsWithTimeout() {
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().requestTimeout(Duration.ofSeconds(2)).build())) {
            r.load("lora", dirs.get("lora"));
            Map<String, String> in = Map.of("text", "a good film");
            r.classify("lora", List.of(in)).join();
            r.addBatchListener(gate);
            gate.arm();
            var warm = r.classify("lora", List.of(in));
            gate.awaitHeld();
            var late = r.classify("lora", List.of(in));
            assertThat(kindOf(late)).isEqualTo(ServeException.Kind.TIMEOUT);       // waits until the timeout fires
            assertThat(messageOf(late)).contains("lora");
            assertThat(kindOf(warm)).isEqualTo(ServeException.Kind.TIMEOUT);       // held by the gate before it was answered
            gate.release();
            assertThat(r.classify("lora", List.of(in)).join()).hasSize(1);
        }
    }

    @Test
    void unknownAdaptersBadInputsAndWrongDirectoriesAreNamed() throws Exception {
        Path plain = ServeFixtures.plainAdapter(base, tmp.resolve("plain-lora"), LoraConfig.defaults().withR(2), 3);
        try (AdapterRegistry r = open(options().maxInputTokens(12).build())) {
            r.register("lora", dirs.get("lora"));
            r.register("pair", dirs.get("pair"));
            r.register("prefix", dirs.get("prefix"));
            r.register("plain", plain);
            Map<String, String> ok = Map.of("text", "a good film");

            assertThat(kindOf(r.classify("nope", List.of(ok)))).isEqualTo(ServeException.Kind.UNKNOWN_ADAPTER);
            assertThat(messageOf(r.classify("nope", List.of(ok)))).contains("nope");

            var missing = r.classify("pair", List.of(Map.of("subject", "a", "body", "b"), Map.of("subject", "spam")));
            assertThat(kindOf(missing)).isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThat(messageOf(missing)).contains("'pair'").contains("input 2").contains("'body'");
            var missingTemplateField = r.classify("prefix", List.of(Map.of("body", "good")));
            assertThat(messageOf(missingTemplateField)).contains("'prefix'").contains("input 1").contains("'text'");

            String longText = String.join(" ", java.util.Collections.nCopies(20, "good"));
            var tooLong = r.classify("lora", List.of(ok, ok, Map.of("text", longText)));
            assertThat(kindOf(tooLong)).isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThat(messageOf(tooLong)).contains("'lora'").contains("input 3").contains("22 tokens").contains("12");
            var tooLongTemplate = r.classify("prefix", List.of(Map.of("text", longText)));
            assertThat(messageOf(tooLongTemplate)).contains("'prefix'").contains("input 1").contains("tokens");

            assertThat(messageOf(r.classify("plain", List.of(ok)))).contains("'plain'").contains("fill-mask");
            assertThat(kindOf(r.fillMask("lora", List.of("a [MASK] film"), 3))).isEqualTo(ServeException.Kind.BAD_INPUT);
            var noMask = r.fillMask("plain", List.of("a [MASK] film", "no mask here"), 3);
            assertThat(messageOf(noMask)).contains("'plain'").contains("input 2").contains("mask");
            assertThat(kindOf(r.generate(null, List.of("hi"), new InferenceService.GenerationParams(3, 0, 0, List.of()))))
                    .isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThat(kindOf(r.classify("lora", List.of()))).isEqualTo(ServeException.Kind.BAD_INPUT);

            // a request that fails leaves the others of its batch alone
            assertThat(r.classify("lora", List.of(ok)).join()).hasSize(1);

            // directories
            Path full = Files.createDirectories(tmp.resolve("full"));
            Files.copy(base.resolve("config.json"), full.resolve("config.json"));
            Files.copy(dirs.get("lora").resolve("task.json"), full.resolve("task.json"));
            assertThatThrownBy(() -> r.register("full", full)).isInstanceOf(ServeException.class).hasMessageContaining("fully fine-tuned")
                    .hasMessageContaining(full.toString()).extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThatThrownBy(() -> r.load("gone", tmp.resolve("no-such-dir"))).isInstanceOf(ServeException.class).hasMessageContaining("no-such-dir");
            assertThatThrownBy(() -> r.register("bad name!", dirs.get("lora"))).isInstanceOf(ServeException.class);
            // a directory whose weights do not fit: load() reports it and changes nothing
            Path broken = Files.createDirectories(tmp.resolve("broken"));
            for (String f : new String[]{"adapter_config.json", "head_config.json", "head.safetensors", "task.json"}) {
                Files.copy(dirs.get("lora").resolve(f), broken.resolve(f));
            }
            Files.copy(dirs.get("ia3").resolve("adapter_model.safetensors"), broken.resolve("adapter_model.safetensors"));
            assertThatThrownBy(() -> r.load("lora", broken)).isInstanceOf(ServeException.class).hasMessageContaining("adapter_model.safetensors");
            assertThat(r.adapter("lora").dir()).isEqualTo(dirs.get("lora"));
            assertThat(r.classify("lora", List.of(ok)).join()).hasSize(1);

            r.unload("lora");
            assertThat(kindOf(r.classify("lora", List.of(ok)))).isEqualTo(ServeException.Kind.UNKNOWN_ADAPTER);
            assertThatThrownBy(() -> r.unload("lora")).isInstanceOf(ServeException.class)
                    .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.UNKNOWN_ADAPTER);
            assertThat(r.adapters()).extracting(InferenceService.AdapterInfo::name).containsExactly("pair", "prefix", "plain");
        }
        try (AdapterRegistry r = open(options().adapterRoot(tmp.resolve("adapters")).build())) {
            r.register("lora", dirs.get("lora"));
            assertThatThrownBy(() -> r.register("plain", plain)).isInstanceOf(ServeException.class)
                    .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.FORBIDDEN);
        }
    }

    @Test
    void adapterInfoDescribesEachAdapter() {
        try (AdapterRegistry r = open(options().build())) {
            registerAll(r);
            InferenceService.AdapterInfo lora = r.adapter("lora");
            assertThat(lora.method()).isEqualTo("lora");
            assertThat(lora.task()).isEqualTo("classify");
            assertThat(lora.labels()).isEqualTo(ServeFixtures.LABELS);
            assertThat(lora.loaded()).isFalse();
            long registered = lora.trainableParameters();
            r.classify("lora", List.of(Map.of("text", "good"))).join();
            assertThat(r.adapter("lora").loaded()).isTrue();
            assertThat(r.adapter("lora").trainableParameters()).isEqualTo(registered);
            assertThat(r.adapter("prefix").labels()).containsExactly("positive", "negative");
            assertThat(r.modelType()).isEqualTo("bert");
            assertThat(r.isDecoder()).isFalse();
        }
    }

    // ------------------------------------------------------------------ fill-mask

    @Test
    void fillMaskMixesAdaptersAndTheBaseInOneBatchAndEqualsEachAlone() {
        Path lora = ServeFixtures.plainAdapter(base, tmp.resolve("fm-lora"), LoraConfig.defaults().withR(4), 21);
        Path prompt = ServeFixtures.plainAdapter(base, tmp.resolve("fm-prompt"), PromptTuningConfig.random(4), 22);
        Path ia3 = ServeFixtures.plainAdapter(base, tmp.resolve("fm-ia3"), Ia3Config.defaults(), 23);
        Map<String, Path> plain = new LinkedHashMap<>();
        plain.put("lora", lora);
        plain.put("prompt", prompt);
        plain.put("ia3", ia3);
        List<String> texts = List.of("the movie was [MASK] .", "a [MASK] film", "it is not [MASK] at all in the plot");
        Tokenizer tok = Tokenizers.load(base);
        Gate gate = new Gate();
        try (AdapterRegistry r = open(options().build())) {
            plain.forEach(r::register);
            r.addBatchListener(gate);
            List<String> adapters = new ArrayList<>(plain.keySet());
            adapters.add(null);
            Map<String, List<List<FillMask.Prediction>>> alone = new LinkedHashMap<>();
            for (String a : adapters) {
                List<List<FillMask.Prediction>> rows = new ArrayList<>();
                for (String t : texts) rows.add(r.fillMask(a, List.of(t), 5).join().get(0));
                alone.put(String.valueOf(a), rows);
                // the reference: the adapter loaded alone on a model of its own
                PeftModel pm = PeftModel.of(Models.load(base, DataType.FLOAT));
                if (a != null) pm.load(plain.get(a), "default");
                List<List<FillMask.Prediction>> ref = FillMask.predict(pm.base(), tok, texts, 5);
                for (int i = 0; i < texts.size(); i++) assertPredictions(rows.get(i), ref.get(i), a + " vs a model of its own");
            }
            assertThat(alone.get("lora").get(0)).isNotEqualTo(alone.get("null").get(0));
            gate.arm();
            var warm = r.fillMask(null, List.of(texts.get(0)), 1);
            gate.awaitHeld();
            Map<String, CompletableFuture<List<List<FillMask.Prediction>>>> mixed = new LinkedHashMap<>();
            for (String a : adapters) mixed.put(String.valueOf(a), r.fillMask(a, texts, 5));
            gate.release();
            warm.join();
            for (String a : mixed.keySet()) {
                List<List<FillMask.Prediction>> got = mixed.get(a).join();
                for (int i = 0; i < texts.size(); i++) assertPredictions(got.get(i), alone.get(a).get(i), a + " mixed");
            }
            assertThat(gate.largestBatch()).isEqualTo(adapters.size());
            // top-k is each request's own
            assertThat(r.fillMask("lora", List.of(texts.get(0)), 2).join().get(0)).hasSize(2);
        }
    }

    static void assertPredictions(List<FillMask.Prediction> actual, List<FillMask.Prediction> expected, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int k = 0; k < expected.size(); k++) {
            assertThat(actual.get(k).score()).as(what + " score " + k).isCloseTo(expected.get(k).score(), org.assertj.core.api.Assertions.within(1e-5));
            // a near tie may swap places; its score is still the same
            if (k + 1 < expected.size() && Math.abs(expected.get(k).score() - expected.get(k + 1).score()) > 1e-5 && (k == 0
                    || Math.abs(expected.get(k).score() - expected.get(k - 1).score()) > 1e-5)) {
                assertThat(actual.get(k).token()).as(what + " token " + k).isEqualTo(expected.get(k).token());
            }
        }
    }

    // ------------------------------------------------------------------ merged serving

    @Test
    void servingAnAdapterMergedGivesTheResultsOfServingItUnmerged() {
        Random rnd = new Random(3);
        Path fmLora = ServeFixtures.plainAdapter(base, tmp.resolve("merge-fm-lora"), LoraConfig.defaults().withR(4), 31);
        List<Req> plan = new ArrayList<>();
        for (int i = 0; i < 6; i++) plan.add(new Req("lora", ServeFixtures.input("lora", rnd)));
        plan.add(new Req("prefix", ServeFixtures.input("prefix", rnd)));
        for (int i = 0; i < 6; i++) plan.add(new Req("ia3", ServeFixtures.input("ia3", rnd)));
        plan.add(new Req("lora", ServeFixtures.input("lora", rnd)));
        plan.add(new Req("prefix", plan.get(6).input()));
        List<String> names = List.of("lora", "ia3", "prefix");
        List<Classification> unmerged = new ArrayList<>();
        try (AdapterRegistry ref = open(options().build())) {
            for (String n : names) ref.register(n, dirs.get(n));
            for (Req q : plan) unmerged.add(ref.classify(q.adapter(), List.of(q.input())).join().get(0));
        }
        try (AdapterRegistry r = open(options().mergePolicy(new AdapterRegistry.MergePolicy(0.75, 4)).build())) {
            for (String n : names) r.register(n, dirs.get(n));
            r.register("fm", fmLora);
            List<Boolean> mergedAfter = new ArrayList<>();
            List<Classification> got = new ArrayList<>();
            for (int i = 0; i < plan.size(); i++) {
                Req q = plan.get(i);
                got.add(r.classify(q.adapter(), List.of(q.input())).join().get(0));
                assertSame(got.get(i), unmerged.get(i), 1e-5, "request " + i + " (" + q.adapter() + ")");
                mergedAfter.add(r.adapter(q.adapter()).merged());
            }
            // lora merged once it had 3 of the last 4 requests, ia3 likewise; prefix (not mergeable) never, and took them out
            assertThat(mergedAfter).containsExactly(false, false, false, true, true, true, false, false, false, true, true, true, true, false, false);
            assertThat(r.adapters()).extracting(InferenceService.AdapterInfo::merged).containsOnly(false);
            // the base weights came back exactly: prefix's result after the merges is the one before them
            assertSame(got.get(14), got.get(6), 1e-12, "prefix before and after");

            // fill-mask with a plain LoRA adapter, merged, against the same texts unmerged
            List<String> texts = List.of("the movie was [MASK] .", "a [MASK] film");
            List<List<FillMask.Prediction>> before = r.fillMask("fm", texts, 4).join();   // breaks the window's other adapters
            for (int i = 0; i < 4; i++) {
                List<List<FillMask.Prediction>> fm = r.fillMask("fm", texts, 4).join();
                for (int k = 0; k < texts.size(); k++) assertPredictions(fm.get(k), before.get(k), "fm merged, round " + i);
            }
            assertThat(r.adapter("fm").merged()).isTrue();
            assertThat(r.fillMask(null, texts, 4).join()).hasSize(2);
            assertThat(r.adapter("fm").merged()).isFalse();
        }
    }

    /** After an unmerge the window starts empty: traffic alternating near the share does not merge and unmerge on every batch. */
    @Test
    void afterAnUnmergeTheWindowMustFillAgainBeforeTheNextMerge() {
        Random rnd = new Random(5);
        try (AdapterRegistry r = open(options().mergePolicy(new AdapterRegistry.MergePolicy(0.75, 4)).build())) {
            r.register("lora", dirs.get("lora"));
            r.register("prefix", dirs.get("prefix"));
            List<String> plan = List.of("lora", "lora", "lora", "lora", "prefix", "lora", "lora", "lora", "lora");
            List<Boolean> merged = new ArrayList<>();
            for (String a : plan) {
                r.classify(a, List.of(ServeFixtures.input(a, rnd))).join();
                merged.add(r.adapter("lora").merged());
            }
            // without the refill, the first lora request after prefix (3 of the last 4) would merge again at once
            assertThat(merged).containsExactly(false, false, false, true, false, false, false, true, true);
        }
    }

    // ------------------------------------------------------------------ bounded work per request

    @Test
    void tooManyInputsOrFillMaskPredictionsInOneRequestAreRefusedNamingTheCap() {
        assertThat(AdapterRegistry.Options.defaults().maxInputsPerRequest()).isEqualTo(256);
        Path plain = ServeFixtures.plainAdapter(base, tmp.resolve("cap-lora"), LoraConfig.defaults().withR(2), 5);
        try (AdapterRegistry r = open(options().maxInputsPerRequest(4).maxPredictionsPerRequest(12).build())) {
            r.register("lora", dirs.get("lora"));
            r.register("plain", plain);
            Map<String, String> in = Map.of("text", "a good film");
            var five = r.classify("lora", java.util.Collections.nCopies(5, in));
            assertThat(kindOf(five)).isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThat(messageOf(five)).contains("'lora'").contains("5 inputs").contains("4 allowed");
            assertThat(r.classify("lora", java.util.Collections.nCopies(4, in)).join()).hasSize(4);
            var many = r.fillMask("plain", java.util.Collections.nCopies(3, "a [MASK] film"), 5);
            assertThat(kindOf(many)).isEqualTo(ServeException.Kind.BAD_INPUT);
            assertThat(messageOf(many)).contains("'plain'").contains("3 inputs").contains("top-k 5").contains("15 predictions").contains("12 allowed");
            assertThat(r.fillMask("plain", java.util.Collections.nCopies(3, "a [MASK] film"), 4).join()).hasSize(3);
        }
    }

    /**
     * A request cancelled (or timed out) while its passes run takes no further pass: the worker moves on. One row a pass;
     * the pass listener cancels the request during its first pass.
     */
    @Test
    void aRequestCancelledMidwayTakesNoMorePasses() {
        try (AdapterRegistry r = open(options().maxBatchRows(1).build())) {
            r.register("lora", dirs.get("lora"));
            List<Integer> passes = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.atomic.AtomicReference<CompletableFuture<CompletableFuture<?>>> victim = new java.util.concurrent.atomic.AtomicReference<>();
            r.passListener = rows -> {
                passes.add(rows);
                CompletableFuture<CompletableFuture<?>> v = victim.getAndSet(null);
                if (v != null) v.join().cancel(false);
            };
            Map<String, String> in = Map.of("text", "a good film");

            CompletableFuture<CompletableFuture<?>> holder = new CompletableFuture<>();
            victim.set(holder);
            var big = r.classify("lora", java.util.Collections.nCopies(6, in));
            holder.complete(big);
            assertThatThrownBy(big::join).isInstanceOf(java.util.concurrent.CancellationException.class);
            assertThat(r.classify("lora", List.of(in)).join()).hasSize(1);
            assertThat(passes).as("one pass of the cancelled request, then the next request's").containsExactly(1, 1);

            passes.clear();
            CompletableFuture<CompletableFuture<?>> holder2 = new CompletableFuture<>();
            victim.set(holder2);
            var bigFill = r.fillMask(null, java.util.Collections.nCopies(6, "a [MASK] film"), 3);
            holder2.complete(bigFill);
            assertThatThrownBy(bigFill::join).isInstanceOf(java.util.concurrent.CancellationException.class);
            assertThat(r.fillMask(null, List.of("a [MASK] film"), 3).join().get(0)).hasSize(3);
            assertThat(passes).containsExactly(1, 1);
        }
    }

    // ------------------------------------------------------------------ faults of the worker

    /** An Error escaping a batch (out of memory, a stack overflow) fails that batch's requests; the registry keeps serving. */
    @Test
    void anErrorInABatchFailsOnlyThatBatchAndTheRegistryKeepsServing() {
        try (AdapterRegistry r = open(options().build())) {
            r.register("lora", dirs.get("lora"));
            java.util.Deque<Error> errors = new java.util.concurrent.ConcurrentLinkedDeque<>(List.of(new OutOfMemoryError("simulated"),
                    new StackOverflowError("simulated")));
            r.addBatchListener((kind, requests, rows) -> {
                Error e = errors.poll();
                if (e != null) throw e;
            });
            Map<String, String> in = Map.of("text", "a good film");
            assertThatThrownBy(() -> r.classify("lora", List.of(in)).join()).hasCauseInstanceOf(OutOfMemoryError.class);
            assertThatThrownBy(() -> r.classify("lora", List.of(in)).join()).hasCauseInstanceOf(StackOverflowError.class);
            assertThat(r.isClosed()).isFalse();
            assertThat(r.classify("lora", List.of(in)).join()).hasSize(1);
            assertThat(r.reload("lora").loaded()).isTrue();
        }
    }

    /** A worker call queued when the worker has stopped fails at once instead of waiting forever. */
    @Test
    void aWorkerCallAfterCloseFailsInsteadOfWaiting() {
        AdapterRegistry r = open(options().build());
        r.register("lora", dirs.get("lora"));
        r.close();
        assertThatThrownBy(r::installedAdapters).isInstanceOf(ServeException.class)
                .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.OVERLOADED);
        assertThatThrownBy(() -> r.load("lora", dirs.get("lora"))).isInstanceOf(ServeException.class)
                .extracting(e -> ((ServeException) e).kind()).isEqualTo(ServeException.Kind.OVERLOADED);
    }

    // ------------------------------------------------------------------ close

    @Test
    void closeAnswersTheAcceptedRequestsThenRefusesNewOnes() {
        Gate gate = new Gate();
        AdapterRegistry r = open(options().build());
        r.register("lora", dirs.get("lora"));
        r.addBatchListener(gate);
        Map<String, String> in = Map.of("text", "a good film");
        gate.arm();
        var warm = r.classify("lora", List.of(in));
        gate.awaitHeld();
        List<CompletableFuture<List<Classification>>> accepted = new ArrayList<>();
        for (int i = 0; i < 3; i++) accepted.add(r.classify("lora", List.of(in)));
        CompletableFuture<Void> closing = CompletableFuture.runAsync(r::close);
        while (!closingStarted(r)) Thread.onSpinWait();
        var refused = r.classify("lora", List.of(in));
        assertThat(kindOf(refused)).isEqualTo(ServeException.Kind.OVERLOADED);
        gate.release();
        closing.join();
        warm.join();
        for (var f : accepted) assertThat(f.join()).hasSize(1);
        assertThat(kindOf(r.classify("lora", List.of(in)))).isEqualTo(ServeException.Kind.OVERLOADED);
        r.close();
    }

    private static boolean closingStarted(AdapterRegistry r) {
        return r.isClosed();
    }
}
