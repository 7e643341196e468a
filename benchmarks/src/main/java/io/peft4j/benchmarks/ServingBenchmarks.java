package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.Precision;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.Merging;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * What serving many adapters from one frozen BERT-base costs, each figure against its reference timed in the same run
 * (alternating, medians): selecting one of 1, 10, 100 or 1,000 loaded LoRA adapters per request (on a narrow model with
 * BERT-base's layers and hook sites, where a forward takes milliseconds and the selection's cost is resolvable, and the
 * dispatch itself timed alone); a batch of 32 rows mixing 8 adapters against the same 32 rows for one adapter (LoRA,
 * prompt tuning, prefix tuning); LoRA merged into the weights against unmerged; the memory a loaded adapter allocates
 * (ND4J's native buffers and the JVM heap) against its file and its parameters; and the HTTP server under load
 * ({@link ServerLoadTest}). Writes {@code docs/benchmarks-serving.md} with the CPU model and the same run's sgemm. Usage:
 * {@code ServingBenchmarks OUTPUT.md [ROUNDS [LOAD_SECONDS]] [--sections selection,mixed,merged,memory,server]}
 * (default: every section, 7 rounds, 30 s of load per server configuration).
 */
public final class ServingBenchmarks {
    private static final int SHORT = 16, LONG = 64, ROWS = 32;
    /** The sections, in the page's order. */
    static final List<String> SECTIONS = List.of("selection", "mixed", "merged", "memory", "server");

    private ServingBenchmarks() {
    }

    public static void main(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        Set<String> sections = new LinkedHashSet<>(SECTIONS);
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--sections")) {
                if (i + 1 == args.length) throw new IllegalArgumentException("--sections needs a list: " + String.join(",", SECTIONS));
                sections = sections(args[++i]);
            } else if (args[i].startsWith("--sections=")) sections = sections(args[i].substring("--sections=".length()));
            else positional.add(args[i]);
        }
        Path out = Path.of(positional.size() > 0 ? positional.get(0) : "docs/benchmarks-serving.md");
        int rounds = positional.size() > 1 ? Integer.parseInt(positional.get(1)) : 7;
        Path dir = ModelHub.resolve("bert-base-uncased");
        TransformerModel bert = Models.load(dir, DataType.FLOAT);
        String header = BenchmarkPage.generatedBy("docs/generate-serving-benchmarks.sh") + String.format(Locale.ROOT, "BERT-base (frozen, FP32); "
                + "LoRA r = 8 on query and value, prompt and prefix tuning with 20 virtual tokens. Each figure is timed against its reference "
                + "in the same run, the two alternating; medians of %d rounds. Compare ratios, not absolute times, across machines.%n%n", rounds);
        Map<String, String> ran = new LinkedHashMap<>();
        if (sections.contains("selection")) ran.put("selection", adapterSelection(dir, bert, rounds));
        if (sections.contains("mixed")) ran.put("mixed", mixedBatches(bert, rounds));
        if (sections.contains("merged")) ran.put("merged", merged(bert, rounds));
        if (sections.contains("memory")) ran.put("memory", memory(bert));
        if (sections.contains("server")) {
            ran.put("server", ServerLoadTest.run(dir, bert, io.peft4j.core.tokenizer.Tokenizers.load(dir), positional.size() > 2 ? Double.parseDouble(positional.get(2)) : 30));
        }
        StringBuilder md = new StringBuilder(page(header, ran, Files.exists(out) ? Files.readString(out) : null));
        AtomicFiles.write(out, md.toString().getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
    }

    /** Each section's heading on the page. */
    static final Map<String, String> HEADINGS = Map.of("selection", "## Selecting an adapter per request", "mixed", "## Mixed batches",
            "merged", "## Merged against unmerged LoRA", "memory", "## Memory per loaded adapter", "server", "## The HTTP server under load");

    /**
     * The page: {@code header} and the sections that {@code ran}, in the page's order. When only some ran and a page
     * {@code previous} exists, its other sections are kept, and the page says which sections come from which run.
     */
    static String page(String header, Map<String, String> ran, String previous) {
        StringBuilder md = new StringBuilder("# Serving benchmarks\n\n").append(header);
        Map<String, String> kept = new LinkedHashMap<>();
        if (ran.size() < SECTIONS.size() && previous != null) {
            for (String key : SECTIONS) {
                if (ran.containsKey(key)) continue;
                int at = previous.indexOf("\n" + HEADINGS.get(key) + "\n");
                if (at < 0) continue;
                int end = previous.indexOf("\n## ", at + 1);
                kept.put(key, previous.substring(at + 1, end < 0 ? previous.length() : end + 1));
            }
        }
        if (!kept.isEmpty()) {
            int first = previous.indexOf("\n\n") + 2, stop = previous.indexOf("\n\n", first);
            String before = previous.substring(first, stop).replace("Generated by `docs/generate-serving-benchmarks.sh` on ", "");
            md.append("This run: ").append(String.join(", ", ran.keySet())).append(". Kept from the previous run (").append(String.join(", ", kept.keySet()))
                    .append("), made on ").append(before).append("\n\n");
        } else if (ran.size() < SECTIONS.size()) {
            md.append("Only these sections were run: ").append(String.join(", ", ran.keySet())).append(".\n\n");
        }
        for (String key : SECTIONS) {
            if (ran.containsKey(key)) md.append(ran.get(key));
            else if (kept.containsKey(key)) md.append(kept.get(key));
        }
        return md.toString();
    }

    /** A comma-separated list of {@link #SECTIONS}, kept in the page's order. */
    static Set<String> sections(String list) {
        Set<String> asked = new LinkedHashSet<>(List.of(list.split(",")));
        asked.removeAll(SECTIONS);
        if (!asked.isEmpty()) throw new IllegalArgumentException("unknown sections " + asked + " (known: " + String.join(", ", SECTIONS) + ")");
        Set<String> out = new LinkedHashSet<>(SECTIONS);
        out.retainAll(List.of(list.split(",")));
        return out;
    }

    // ------------------------------------------------------------------ adapter selection with N loaded

    /** Width of the narrow model: BERT-base's 12 heads of 8 instead of 64; its feed-forward 4 x as wide, as BERT-base's. */
    static final int NARROW_HIDDEN = 96;
    /** Requests a round on the narrow model, and on BERT-base. */
    private static final int NARROW_REQUESTS = 200, BERT_REQUESTS = 20;
    /** Dispatch-only passes a round: tagged (microseconds each) and untagged (every hook returned). */
    private static final int TAGGED_PASSES = 20_000, UNTAGGED_PASSES = 200;
    static volatile long sink;

    /**
     * The cost of selecting one of N loaded LoRA adapters per request, for N = 1, 10, 100, 1,000: end to end on a
     * narrow model with BERT-base's layers and hook sites (its forward takes milliseconds, not BERT-base's ~130, so a
     * cost that does not depend on width is resolvable), the dispatch alone ({@link Hooks#at(String, Class,
     * ForwardContext)} at every site), and one row on BERT-base itself with 1,000 loaded.
     */
    static String adapterSelection(Path dir, TransformerModel bert, int rounds) {
        int narrowRounds = 2 * rounds;
        TransformerModel narrowOne = narrowBert(dir, NARROW_HIDDEN), narrowMany = narrowBert(dir, NARROW_HIDDEN);
        List<String> bertSites = bert.hooks().sites().stream().map(HookSite::name).toList();
        List<HookSite> sites = List.copyOf(narrowMany.hooks().sites());
        if (!sites.stream().map(HookSite::name).toList().equals(bertSites)) throw new IllegalStateException("the narrow model's hook sites differ from BERT-base's");
        PeftModel one = PeftModel.of(narrowOne), many = PeftModel.of(narrowMany);
        one.add("a0", lora(), 0);
        many.add("a0", lora(), 0);           // the same weights as one's: with N = 1 the two models are identical
        long narrowAdapterBytes = bytes(many.adapter("a0"));
        Batch req = batch(1, SHORT, 1);
        Random rng = new Random(1);
        List<String> names = new ArrayList<>(List.of("a0"));
        List<String> rowsE2e = new ArrayList<>(), rowsDispatch = new ArrayList<>();
        List<Double> nullSpread = new ArrayList<>(), dispatchAt = new ArrayList<>();
        double narrowBase = 0;
        int loaded = 1;
        for (int n : new int[]{1, 10, 100, 1000}) {
            for (; loaded < n; loaded++) {
                many.add("a" + loaded, lora(), loaded);
                names.add("a" + loaded);
            }
            // end to end: tagged for a random one of N (many), tagged for the only one (one), tagged for none (many)
            List<Runnable> arms = List.of(
                    () -> forward(many, req, List.of(names.get(rng.nextInt(names.size())))),
                    () -> forward(one, req, List.of("a0")),
                    () -> forward(many, req, List.of("base")));
            long start = System.nanoTime();
            List<double[]> perRound = interleaved(arms, narrowRounds, NARROW_REQUESTS);
            System.err.printf(Locale.ROOT, "selection: %d loaded, end to end in %.0f s%n", n, (System.nanoTime() - start) / 1e9);
            List<Double> tagged = column(perRound, 0), base = column(perRound, 2), vsOne = new ArrayList<>(), vsBase = new ArrayList<>();
            for (double[] r : perRound) {
                vsOne.add((r[0] - r[1]) * 1e6);
                vsBase.add((r[0] - r[2]) * 1e6);
            }
            double[] q = quartiles(vsOne), qb = quartiles(vsBase);
            if (n == 1) nullSpread.addAll(List.of(q[0], q[2]));
            if (n == 1) narrowBase = ProbeBenchmark.median(base) * 1e3;
            rowsE2e.add(String.format(Locale.ROOT, "| %,d | %.3f | %+.1f [%+.1f, %+.1f] | %+.1f [%+.1f, %+.1f] |%n", n,
                    ProbeBenchmark.median(tagged) * 1e3, q[1], q[0], q[2], qb[1], qb[0], qb[2]));
            // the dispatch alone: one at() per site for a one-row pass tagged for a random loaded adapter, and untagged
            Hooks hooks = narrowMany.hooks();
            ForwardContext untagged = ForwardContext.inference(1);
            List<Double> d = new ArrayList<>(), u = new ArrayList<>();
            for (int k = 0; k < narrowRounds + 3; k++) {          // three rounds of warm-up
                double perTagged = dispatch(hooks, sites, () -> new ForwardContext(1, List.of(names.get(rng.nextInt(names.size()))), false, 0), TAGGED_PASSES);
                double all = dispatch(hooks, sites, () -> untagged, UNTAGGED_PASSES);
                if (k >= 3) {
                    d.add(perTagged);
                    u.add(all);
                }
            }
            double[] qd = quartiles(d);
            dispatchAt.add(qd[1]);
            rowsDispatch.add(String.format(Locale.ROOT, "| %,d | %.2f [%.2f, %.2f] | %.1f |%n", n, qd[1], qd[0], qd[2], ProbeBenchmark.median(u)));
        }
        for (String name : names) many.remove(name);
        one.remove("a0");

        // BERT-base itself, 1,000 loaded: tagged for a random one against tagged for none
        PeftModel full = PeftModel.of(bert);
        List<String> fullNames = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            full.add("a" + i, lora(), i);
            fullNames.add("a" + i);
        }
        long bertAdapterBytes = bytes(full.adapter("a0"));
        Batch bertReq = batch(1, SHORT, 1);
        long t0 = System.nanoTime();
        List<double[]> bertRounds = interleaved(List.of(
                () -> forward(full, bertReq, List.of(fullNames.get(rng.nextInt(fullNames.size())))),
                () -> forward(full, bertReq, List.of("base"))), rounds, BERT_REQUESTS);
        System.err.printf(Locale.ROOT, "selection: BERT-base with 1,000 loaded in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        List<Double> bertDiff = new ArrayList<>();
        for (double[] r : bertRounds) bertDiff.add((r[0] - r[1]) * 1e3);
        double[] qf = quartiles(bertDiff);
        for (String name : fullNames) full.remove(name);

        double bertTagged = ProbeBenchmark.median(column(bertRounds, 0)) * 1e3, bertBase = ProbeBenchmark.median(column(bertRounds, 1)) * 1e3;
        StringBuilder md = new StringBuilder("## Selecting an adapter per request\n\n");
        md.append(String.format(Locale.ROOT, "A request's row tag selects its adapter: at each hook site, dispatch (`Hooks.at(site, type, ctx)`) "
                + "looks up the hooks of the adapters that the batch's rows are tagged for in a per-site index, so the other N - 1 loaded "
                + "adapters are never called and no base weight is copied. Goal: selecting one of N costs the same for N = 1 to 1,000, "
                + "and under 1 ms.%n%n"
                + "On BERT-base a request of %d tokens takes %.0f ms here (the last paragraph), so a selection cost under 1 ms is under "
                + "%.1f%% of a request there. To resolve how the cost grows with N, "
                + "the comparison runs on a narrow model with BERT-base's architecture, 12 layers, 12 heads and hook sites (the same %d "
                + "sites, checked), %d wide instead of 768 (random weights), where a request tagged for no adapter takes %.2f ms. What dispatch costs does "
                + "not depend on the width; reading the selected adapter's weights does (%.0f KiB here, %.0f KiB at BERT-base's width), "
                + "and with many adapters loaded they are less often in a cache: the first difference below includes that effect as it "
                + "is at this width. Two copies of it: one with a single LoRA adapter loaded (r = 8, query and value), one with N. "
                + "One request (1 row of %d tokens) at a time, the three arms below interleaved request by request (their order "
                + "rotating), %d requests of each a round, %d rounds after one of warm-up; per round, each arm's median request time.%n%n"
                + "- **among N - among 1**: a request tagged for a random one of the N adapters, less the same request tagged for the "
                + "only adapter of the other copy: what having N loaded adds to selecting one. With N = 1 the two copies are identical "
                + "(same weights, same adapter), so that row shows the method's resolution: its per-round differences spread over "
                + "[%+.1f, %+.1f] µs (interquartile range).%n"
                + "- **adapter - base**: the same tagged request less one tagged for no adapter on the same copy: selecting and "
                + "applying the adapter, its rank-8 products at this width included.%n%n"
                + "Each difference: the median over rounds of the per-round differences, in µs per request, the interquartile range "
                + "in brackets.%n%n"
                + "| adapters loaded | ms per request (tagged, among N) | among N - among 1 (µs) | adapter - base (µs) |%n|---:|---:|---:|---:|%n",
                SHORT, bertBase, 100 / bertBase, sites.size(), NARROW_HIDDEN, narrowBase, narrowAdapterBytes / 1024.0, bertAdapterBytes / 1024.0, SHORT, NARROW_REQUESTS, narrowRounds,
                nullSpread.get(0), nullSpread.get(1)));
        rowsE2e.forEach(md::append);
        md.append(String.format(Locale.ROOT, "%nThe dispatch alone, timed directly on the narrow copy with N loaded: per request, a one-row "
                + "`ForwardContext` tagged for a random loaded adapter and one `Hooks.at` call at each of the %d sites (a forward asks "
                + "each site about once). Each figure is the time of %,d such requests divided by their number, so the clock's "
                + "granularity does not matter; median of %d rounds after three of warm-up, the interquartile range in brackets. For contrast, the same calls "
                + "for an untagged pass (%,d a round), which returns every installed hook (each adapter then checks for itself whether "
                + "it is active): that one grows with N, which shows that these timings resolve a growth with N where there is one.%n%n"
                + "| adapters loaded | dispatch per tagged request (µs) | untagged pass, every hook (µs) |%n|---:|---:|---:|%n",
                sites.size(), TAGGED_PASSES, narrowRounds, UNTAGGED_PASSES));
        rowsDispatch.forEach(md::append);
        md.append(String.format(Locale.ROOT, "%nFrom 1 to 1,000 adapters loaded, the tagged dispatch goes from %.2f to %.2f µs per request "
                + "(%+.2f µs).%n%n", dispatchAt.get(0), dispatchAt.get(dispatchAt.size() - 1), dispatchAt.get(dispatchAt.size() - 1) - dispatchAt.get(0)));
        md.append(jmhDispatch());
        md.append(String.format(Locale.ROOT, "On BERT-base itself with 1,000 LoRA adapters loaded, the same interleaving (%d requests of each "
                + "a round, %d rounds): a request tagged for a random one takes %.2f ms, one tagged for no adapter %.2f ms; adapter - "
                + "base %+.2f ms, interquartile range [%+.2f, %+.2f] ms: the whole cost of applying an adapter at full width (the "
                + "dispatch in it is the few µs above). With 1,000 loaded only, this row does not compare N.%n%n",
                BERT_REQUESTS, rounds, bertTagged, bertBase, qf[1], qf[0], qf[2]));
        return md.toString();
    }

    /** The same dispatch under JMH ({@link AdapterDispatchBenchmark}, its own JVM): a table of µs per request with JMH's error. */
    static String jmhDispatch() {
        try {
            java.util.Collection<org.openjdk.jmh.results.RunResult> results = new org.openjdk.jmh.runner.Runner(new org.openjdk.jmh.runner.options.OptionsBuilder()
                    .include(AdapterDispatchBenchmark.class.getSimpleName()).shouldDoGC(true).build()).run();
            StringBuilder md = new StringBuilder("The same dispatch under JMH (`AdapterDispatchBenchmark`: its own JVM, average time per call over "
                    + "iterations of 1 s, 5 warm-up and 10 measured, a garbage collection between iterations; the tagged adapter changing round "
                    + "robin from call to call): the median iteration with the range of the middle half, and JMH's mean with its 99.9% error "
                    + "(which one slow iteration, the machine doing something else for part of a second, widens):\n\n"
                    + "| adapters loaded | dispatch per tagged request, median iteration (µs) | JMH mean ± error (µs) |\n|---:|---:|---:|\n");
            List<org.openjdk.jmh.results.RunResult> sorted = new ArrayList<>(results);
            sorted.sort(java.util.Comparator.comparingInt(r -> Integer.parseInt(r.getParams().getParam("adapters"))));
            for (var r : sorted) {
                var score = r.getPrimaryResult();
                var st = score.getStatistics();
                md.append(String.format(Locale.ROOT, "| %,d | %.2f [%.2f, %.2f] | %.2f ± %.2f |%n", Integer.parseInt(r.getParams().getParam("adapters")),
                        st.getPercentile(50), st.getPercentile(25), st.getPercentile(75), score.getScore(), score.getScoreError()));
            }
            return md.append("\n").toString();
        } catch (org.openjdk.jmh.runner.RunnerException e) {
            throw new IllegalStateException("JMH failed: " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code rounds} + 1 rounds (the first a warm-up, dropped) of {@code requests} requests of each arm, the arms
     * interleaved request by request (their order rotating), so that anything else the machine does slows them alike;
     * each round's median seconds per request of every arm.
     */
    static List<double[]> interleaved(List<Runnable> arms, int rounds, int requests) {
        List<double[]> out = new ArrayList<>();
        int a = arms.size();
        for (int k = 0; k < rounds + 1; k++) {
            List<List<Double>> t = new ArrayList<>();
            for (int j = 0; j < a; j++) t.add(new ArrayList<>());
            for (int i = 0; i < requests; i++) {
                for (int j = 0; j < a; j++) {
                    int arm = (i + j) % a;
                    t.get(arm).add(time(arms.get(arm)));
                }
            }
            if (k > 0) out.add(t.stream().mapToDouble(ProbeBenchmark::median).toArray());
        }
        return out;
    }

    /** Microseconds per request of {@code passes} requests, each a context from {@code ctx} and one {@code at} per site. */
    static double dispatch(Hooks hooks, List<HookSite> sites, Supplier<ForwardContext> ctx, int passes) {
        long t0 = System.nanoTime(), s = 0;
        for (int i = 0; i < passes; i++) {
            ForwardContext c = ctx.get();
            for (HookSite site : sites) s += hooks.at(site.name(), site.kind().hookType(), c).size();
        }
        long t1 = System.nanoTime();
        sink += s;
        return (t1 - t0) / 1e3 / passes;
    }

    /** The bytes of an adapter's parameter arrays: elements x element size. */
    static long bytes(Adapter a) {
        long n = 0;
        for (Tensor t : a.parameters().values()) n += t.value().length() * t.value().dataType().width();
        return n;
    }

    static List<Double> column(List<double[]> rows, int j) {
        return rows.stream().map(r -> r[j]).toList();
    }

    /** First quartile, median, third quartile (linear interpolation between order statistics). */
    static double[] quartiles(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        double[] q = new double[3];
        for (int i = 0; i < 3; i++) {
            double pos = (i + 1) * 0.25 * (s.size() - 1);
            int lo = (int) Math.floor(pos), hi = Math.min(s.size() - 1, lo + 1);
            q[i] = s.get(lo) + (pos - lo) * (s.get(hi) - s.get(lo));
        }
        return q;
    }

    /**
     * A BERT with BERT-base's config, weight names and hook sites (those of its checkpoint in {@code dir}) but
     * {@code hidden} wide (12 heads of {@code hidden / 12}, feed-forward 4 x {@code hidden}) and random weights:
     * N(0, 0.02²), layer-norm scales 1. The same seed every call, so two such models are identical.
     */
    static TransformerModel narrowBert(Path dir, int hidden) {
        ObjectNode json = (ObjectNode) Json.read(dir.resolve("config.json"));
        long wide = json.get("hidden_size").asLong(), ffn = json.get("intermediate_size").asLong();
        json.put("hidden_size", hidden);
        json.put("intermediate_size", 4 * hidden);
        ModelConfig cfg = ModelConfig.fromJson(json, "BERT-base's config at width " + hidden);
        Nd4j.getRandom().setSeed(42);
        try (Checkpoint real = Models.openCheckpoint(dir)) {
            Checkpoint narrow = new Checkpoint() {
                @Override
                public Set<String> names() {
                    return real.names();
                }

                @Override
                public long[] shape(String name) {
                    long[] s = real.shape(name);
                    for (int i = 0; i < s.length; i++) s[i] = s[i] == wide ? hidden : s[i] == ffn ? 4L * hidden : s[i];
                    return s;
                }

                @Override
                public INDArray load(String name, DataType type) {
                    long[] s = shape(name);
                    boolean scale = s.length == 1 && name.contains("LayerNorm") && (name.endsWith("gamma") || name.endsWith("weight"));
                    return scale ? Nd4j.ones(type, s) : Nd4j.randn(DataType.FLOAT, s).muli(0.02).castTo(type);
                }

                @Override
                public Path path() {
                    return real.path();
                }

                @Override
                public String fileOf(String name) {
                    return real.fileOf(name);
                }

                @Override
                public void close() {
                }
            };
            return cfg.architecture().builder().build(cfg, narrow, Precision.of(DataType.FLOAT));
        }
    }

    // ------------------------------------------------------------------ mixed batches

    /** 32 rows for 8 adapters (4 rows each) against the same 32 rows for one adapter, per method. */
    static String mixedBatches(TransformerModel bert, int rounds) {
        StringBuilder md = new StringBuilder("## Mixed batches\n\n"
                + ROWS + " rows of " + LONG + " tokens: for 8 adapters (4 rows each) against all " + ROWS + " for one adapter, same inputs. "
                + "Goal: a mixed batch keeps at least 80% of the single-adapter throughput.\n\n"
                + "| method | single adapter (rows/s) | 8 adapters mixed (rows/s) | mixed / single |\n|---|---:|---:|---:|\n");
        record M(String name, Supplier<PeftConfig> config) {
        }
        for (M m : List.of(new M("LoRA r=8 (query, value)", ServingBenchmarks::lora), new M("prompt tuning (20)", () -> PromptTuningConfig.random(20)),
                new M("prefix tuning (20)", () -> PrefixTuningConfig.of(20)))) {
            PeftModel model = PeftModel.of(bert);
            for (int i = 0; i < 8; i++) model.add("m" + i, m.config().get(), i + 1);
            Batch b = batch(ROWS, LONG, 2);
            List<String> single = Collections.nCopies(ROWS, "m0"), mixed = new ArrayList<>();
            for (int r = 0; r < ROWS; r++) mixed.add("m" + (r / 4));
            List<Double> s = new ArrayList<>(), x = new ArrayList<>();
            for (int k = 0; k < rounds + 1; k++) {
                double ts = time(() -> forward(model, b, single)), tx = time(() -> forward(model, b, mixed));
                if (k > 0) {
                    s.add(ROWS / ts);
                    x.add(ROWS / tx);
                }
            }
            double ms = ProbeBenchmark.median(s), mx = ProbeBenchmark.median(x);
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f |%n", m.name(), ms, mx, mx / ms));
            for (int i = 0; i < 8; i++) model.remove("m" + i);
        }
        return md.append("\n").toString();
    }

    // ------------------------------------------------------------------ merged LoRA

    /** One LoRA adapter applied through its hooks against merged into the weights, with the base alone for reference. */
    static String merged(TransformerModel bert, int rounds) {
        PeftModel model = PeftModel.of(bert);
        model.add("default", lora());
        StringBuilder md = new StringBuilder("## Merged against unmerged LoRA\n\n"
                + "One LoRA adapter (r = 8, query and value) applied through its hooks, then merged into the weights (`Merging.merge`); "
                + "the frozen base alone for reference. Latency of one request of " + SHORT + " tokens (median of 50 a round) and throughput of "
                + ROWS + " rows of " + LONG + " tokens.\n\n"
                + "| form | ms per request | rows/s at batch " + ROWS + " |\n|---|---:|---:|\n");
        Batch one = batch(1, SHORT, 3), many = batch(ROWS, LONG, 4);
        String[] forms = {"unmerged (hooks)", "merged into the weights", "base alone"};
        List<List<Double>> lat = new ArrayList<>(), thr = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
            lat.add(new ArrayList<>());
            thr.add(new ArrayList<>());
        }
        for (int k = 0; k < rounds + 1; k++) {
            for (int f = 0; f < 3; f++) {
                if (f == 1) Merging.merge(model, "default");
                if (f == 2) {
                    Merging.unmerge(model, "default");
                    model.setActive();
                }
                double l = time(() -> {
                    for (int i = 0; i < 50; i++) forward(model, one, null);
                }) / 50, t = ROWS / time(() -> forward(model, many, null));
                if (f == 2) model.setActive("default");
                if (k > 0) {
                    lat.get(f).add(l * 1e3);
                    thr.get(f).add(t);
                }
            }
        }
        for (int f = 0; f < 3; f++) {
            md.append(String.format(Locale.ROOT, "| %s | %.2f | %.1f |%n", forms[f], ProbeBenchmark.median(lat.get(f)), ProbeBenchmark.median(thr.get(f))));
        }
        model.remove("default");
        return md.append("\n").toString();
    }

    // ------------------------------------------------------------------ memory per adapter

    /**
     * What 100 loaded copies of an adapter allocate, per copy: ND4J's native buffers (libnd4j's count of host bytes in
     * buffers outside workspaces) and the JVM heap, each after garbage collection, against the adapter's weights file
     * and its parameters' own bytes.
     */
    static String memory(TransformerModel bert) throws IOException, InterruptedException {
        if (Nd4j.getWorkspaceManager().anyWorkspaceActiveForCurrentThread()) throw new IllegalStateException("adapters must load outside ND4J workspaces");
        StringBuilder md = new StringBuilder("## Memory per loaded adapter\n\n"
                + "One adapter saved, then loaded 100 times under different names (`PeftModel.load`, outside any ND4J workspace) after one "
                + "warm-up load. Before and after the 100, garbage is collected until ND4J's count of native bytes has not changed for a second; the "
                + "growth per copy is given for ND4J's native (off-heap) buffers, counted by libnd4j (`Nd4j.getEnvironment().getDeviceCouner(0)`, "
                + "every host buffer outside workspaces), and for the JVM heap in use after collection (`MemoryMXBean`). As a check, "
                + "the parameters' own bytes: the sum over the loaded adapter's `parameters()` of elements x element size.\n\n"
                + "| method | file (KiB) | parameter arrays | parameters (KiB) | off-heap per copy (KiB) | heap per copy (KiB) | (off-heap + heap) / file |\n"
                + "|---|---:|---:|---:|---:|---:|---:|\n");
        record M(String name, PeftConfig config) {
        }
        List<String> notes = new ArrayList<>();
        long javacpp = 0;
        for (M m : List.of(new M("LoRA r=8 (query, value)", lora()), new M("IA3", Ia3Config.defaults()), new M("prompt tuning (20)", PromptTuningConfig.random(20)),
                new M("prefix tuning (20)", PrefixTuningConfig.of(20)))) {
            Path tmp = Files.createTempDirectory("peft4j-serving");
            PeftModel src = PeftModel.of(bert);
            src.add(PeftModel.DEFAULT, m.config());
            src.save(tmp.resolve("a"));
            src.remove(PeftModel.DEFAULT);
            long file;
            try (Stream<Path> files = Files.list(tmp.resolve("a"))) {
                file = files.filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
            }
            PeftModel model = PeftModel.of(bert);
            Adapter warm = model.load(tmp.resolve("a"), "warm");
            long params = bytes(warm);
            int grads = 0;
            for (Tensor t : warm.parameters().values()) if (t.grad() != null) grads++;
            long[] before = settled();
            long jcpp0 = Pointer.totalBytes();
            for (int i = 0; i < 100; i++) model.load(tmp.resolve("a"), "c" + i);
            long[] after = settled();
            javacpp = Math.max(javacpp, Pointer.totalBytes() - jcpp0);
            double off = (after[0] - before[0]) / 100.0, heap = (after[1] - before[1]) / 100.0;
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %d | %.1f | %.1f | %.1f | %.2f |%n", m.name(), file / 1024.0, warm.parameters().size(), params / 1024.0,
                    off / 1024.0, heap / 1024.0, (off + heap) / file));
            if (grads > 0) notes.add(m.name() + ": " + grads + " of its parameters have a gradient array right after loading");
            model.remove("warm");
            for (int i = 0; i < 100; i++) model.remove("c" + i);
            try (Stream<Path> walk = Files.walk(tmp)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        md.append(String.format(Locale.ROOT, "%nThe file holds the parameters plus a small header (tensor names, shapes), so off-heap per "
                + "copy should match the parameters' bytes when loading allocates nothing else that stays (no gradients, no optimizer "
                + "state); the heap holds each copy's Java objects (tensors and their ND4J arrays, hooks and their registrations, the config), "
                + "whose size depends on how many arrays and hooks a copy has, not on how large the arrays are. JavaCPP's own count "
                + "(`Pointer.totalBytes()`) grew by %,d bytes over 100 loads (the most of the four methods): ND4J 1.0.0-M2.1 allocates its buffers inside "
                + "libnd4j, which JavaCPP does not count, and the process's resident set is dominated by the allocator's and the JVM's "
                + "own movements (the previous version of this section measured it and got negative growth).%s%n%n", javacpp,
                notes.isEmpty() ? " No parameter had a gradient array after loading." : " " + String.join("; ", notes) + "."));
        return md.toString();
    }

    /**
     * ND4J's native bytes and the JVM heap in use, after collecting garbage until the native count has not changed for a
     * second (five collections 200 ms apart): ND4J frees a collected array's native buffer later, on its own threads, and
     * after a section that dropped thousands of arrays that takes more than one short wait.
     */
    static long[] settled() throws InterruptedException {
        long last = Long.MIN_VALUE;
        int same = 0;
        for (int i = 0; i < 100 && same < 5; i++) {
            System.gc();
            Thread.sleep(200);
            long now = nativeBytes();
            same = now == last ? same + 1 : 0;
            last = now;
        }
        if (same < 5) System.err.println("memory: ND4J's native count did not settle in 20 s");
        System.gc();
        return new long[]{nativeBytes(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()};
    }

    /** libnd4j's count of host bytes in ND4J buffers outside workspaces (the method's name is misspelt in ND4J's API). */
    static long nativeBytes() {
        return Nd4j.getEnvironment().getDeviceCouner(0);
    }

    // ------------------------------------------------------------------ helpers

    static LoraConfig lora() {
        return LoraConfig.defaults().withR(8).withAlpha(16).withTargetModules("query", "value");
    }

    /** {@code rows} rows of {@code len} random word-piece ids (CLS first). */
    static Batch batch(int rows, int len, long seed) {
        Random r = new Random(seed);
        int[][] ids = new int[rows][len];
        for (int[] row : ids) {
            row[0] = 101;
            for (int j = 1; j < len; j++) row[j] = 2000 + r.nextInt(20000);
        }
        return Batch.of(ids);
    }

    static void forward(PeftModel model, Batch b, List<String> tags) {
        Workspaces.run(() -> {
            model.forward(b, new ForwardContext(b.size(), tags, false, 0));
            return new INDArray[0];
        });
    }

    static double time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }
}
