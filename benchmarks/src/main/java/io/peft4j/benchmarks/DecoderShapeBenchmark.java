package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.KvCache;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.Precision;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.train.AdamW;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objective;
import io.peft4j.core.train.Objectives;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Speed and memory of a Llama-family decoder at a realistic small shape, Qwen2.5-0.5B's by default (hidden 896,
 * 24 layers, 14 query / 2 key-value heads of 64, SwiGLU 4,864, vocabulary 151,936, tied embeddings, q/k/v biases),
 * with random weights, the base kept in FP32 and in BF16 ({@link Precision#storedAs}, FP32 compute):
 * <ul>
 * <li>forward tokens/s (the base's forward and LM head over every position) and LoRA step tokens/s (r 8 on
 *     {@code q_proj}, {@code v_proj}; causal-LM loss on every token; backward; AdamW) for each batch size, with the
 *     achieved GFLOP/s ({@link #forwardFlops}, {@link #stepFlops}) beside the same run's sgemm, and step / forward;</li>
 * <li>greedy generation tokens/s through the key/value cache for 1 sequence ({@link Generator#generate}) and for
 *     several at once (a greedy loop over {@link Decoder#forward(Batch, ForwardContext, KvCache)} with all rows in
 *     one cache: {@code Generator} itself takes one sequence);</li>
 * <li>the peak resident memory ({@code VmHWM}) of each configuration: each runs in its own JVM.</li>
 * </ul>
 * The weights come from an in-memory checkpoint that draws N(0, 0.02²) matrices (norms 1) a block of rows at a
 * time in the type they are kept in, so no file is written and the FP32 copy of a BF16 matrix never exists whole.
 * Times are medians of {@code --reps} runs after one warm-up. Writes the markdown file atomically.
 *
 * <pre>{@code
 * java -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' io.peft4j.benchmarks.DecoderShapeBenchmark OUTPUT.md \
 *     [--reps 3] [--hidden 896] [--layers 24] [--heads 14] [--kv-heads 2] [--head-dim 64] [--ffn 4864] [--vocab 151936] \
 *     [--seq 512] [--batches 1,4] [--prompt 32] [--new-tokens 64] [--sequences 1,8] [--precisions FLOAT,BFLOAT16]
 * }</pre>
 */
public final class DecoderShapeBenchmark {
    private static final String CHILD = "--child";

    private DecoderShapeBenchmark() {
    }

    /** Qwen2.5-0.5B's shape, the default. */
    static final Shape QWEN25_05B = new Shape(896, 24, 14, 2, 64, 4864, 151_936);

    /** The model's shape. */
    record Shape(int hidden, int layers, int heads, int kvHeads, int headDim, int ffn, int vocab) {
        int queryWidth() {
            return heads * headDim;
        }

        int kvWidth() {
            return kvHeads * headDim;
        }

        /** Weights that are matrix-product operands in one layer: q, k, v, o, gate, up, down (biases and norms not). */
        long layerMatmulParams() {
            return (long) hidden * queryWidth() + 2L * hidden * kvWidth() + (long) queryWidth() * hidden + 3L * hidden * ffn;
        }

        Map<String, Object> configJson() {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("model_type", "qwen2");
            c.put("vocab_size", vocab);
            c.put("hidden_size", hidden);
            c.put("intermediate_size", ffn);
            c.put("num_hidden_layers", layers);
            c.put("num_attention_heads", heads);
            c.put("num_key_value_heads", kvHeads);
            c.put("head_dim", headDim);
            c.put("max_position_embeddings", 32768);
            c.put("rms_norm_eps", 1e-6);
            c.put("rope_theta", 1_000_000.0);
            c.put("tie_word_embeddings", true);
            c.put("use_sliding_window", false);
            return c;
        }

        ModelConfig config() {
            JsonNode json = new ObjectMapper().valueToTree(configJson());
            return ModelConfig.fromJson(json, "synthetic qwen2 config");
        }

        List<String> args() {
            return List.of("--hidden", "" + hidden, "--layers", "" + layers, "--heads", "" + heads, "--kv-heads", "" + kvHeads,
                    "--head-dim", "" + headDim, "--ffn", "" + ffn, "--vocab", "" + vocab);
        }
    }

    /**
     * FLOPs of one forward over {@code batch} rows of {@code seq} tokens with the LM head on {@code headRows} rows,
     * counting matrix products only (2 per multiply-add): per token, 2 x the weights in the layers' matrix products
     * ({@link Shape#layerMatmulParams}); per token per layer, attention's 4 · seq · (heads · head_dim) (QKᵀ and the
     * weighted sum of the values over the full seq x seq scores: no saving counted for the causal mask); per head
     * row, 2 · vocabulary · hidden. Norms, rotary, softmax, SwiGLU, biases and LoRA's rank-8 products (0.2% of a
     * layer's) are left out.
     */
    static double forwardFlops(Shape s, int batch, int seq, long headRows) {
        double tokens = (double) batch * seq;
        return 2.0 * s.layerMatmulParams() * s.layers() * tokens + attentionFlops(s, batch, seq) + 2.0 * s.vocab() * s.hidden() * headRows;
    }

    /** Attention's two seq x seq products in every layer: 4 · seq · (heads · head_dim) per token per layer. */
    static double attentionFlops(Shape s, int batch, int seq) {
        return 4.0 * seq * s.queryWidth() * s.layers() * (double) batch * seq;
    }

    /**
     * FLOPs of one LoRA step: the forward (LM head on the {@code seq - 1} predicted positions of each row) plus the
     * backward to the activations: through every frozen matrix once more (dX = dY · W, the same count as its
     * forward; no weight gradients for the frozen base) and through attention twice more (dQ, dK from the scores'
     * gradient, dV and the scores' gradient from the output's: four seq x seq products against the forward's two).
     * So step = 2 x (layers' products + head) + 3 x attention.
     */
    static double stepFlops(Shape s, int batch, int seq) {
        long headRows = (long) batch * (seq - 1);
        double forward = forwardFlops(s, batch, seq, headRows), attention = attentionFlops(s, batch, seq);
        return 2 * (forward - attention) + 3 * attention;
    }

    // ------------------------------------------------------------------ parent: sgemm, forks, the report

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals(CHILD)) {
            child(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length == 0 || args[0].startsWith("--")) {
            System.err.println("usage: DecoderShapeBenchmark OUTPUT.md [--reps N] [--hidden D] [--layers L] [--heads H] [--kv-heads G] [--head-dim DH] "
                    + "[--ffn F] [--vocab V] [--seq S] [--batches 1,4] [--prompt P] [--new-tokens N] [--sequences 1,8] [--precisions FLOAT,BFLOAT16]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Map<String, String> o = options(Arrays.copyOfRange(args, 1, args.length));
        int reps = Integer.parseInt(o.getOrDefault("reps", "3"));
        Shape shape = shape(o);
        int seq = Integer.parseInt(o.getOrDefault("seq", "512")), prompt = Integer.parseInt(o.getOrDefault("prompt", "32"));
        int newTokens = Integer.parseInt(o.getOrDefault("new-tokens", "64"));
        int[] batches = ints(o.getOrDefault("batches", "1,4")), sequences = ints(o.getOrDefault("sequences", "1,8"));
        List<String> precisions = List.of(o.getOrDefault("precisions", "FLOAT,BFLOAT16").split(","));
        long t0 = System.nanoTime();
        String load = ProbeBenchmark.loadAverage();
        long params = Models.describe(shape.config()).parameterCount();
        System.out.printf(Locale.ROOT, "%s; %,d parameters; measuring sgemm...%n", shape, params);
        String count = checkCount(shape);
        System.out.println(count);
        double sgemm = BenchmarkPage.sgemm();
        System.out.printf(Locale.ROOT, "sgemm 2048³: %.1f GFLOP/s%n", sgemm);

        List<JsonNode> passes = new ArrayList<>(), generations = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        Path tmp = Files.createTempDirectory("decoder-bench");
        for (String precision : precisions) {
            for (int b : batches) {
                runChild(tmp, List.of("passes", precision, "" + b, "" + seq, "" + reps), shape, passes, failures);
            }
            for (int n : sequences) {
                runChild(tmp, List.of("generate", precision, "" + n, "" + prompt, "" + newTokens, "" + reps), shape, generations, failures);
            }
        }
        Files.delete(tmp);
        String md = render(shape, params, reps, seq, prompt, newTokens, sgemm, count, load, passes, generations, failures, (System.nanoTime() - t0) / 1e9);
        AtomicFiles.write(out, md.getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
        System.out.printf(Locale.ROOT, "wrote %s in %.0f s%n", out, (System.nanoTime() - t0) / 1e9);
    }

    private static void runChild(Path tmp, List<String> what, Shape shape, List<JsonNode> into, List<String> failures) throws Exception {
        Path result = tmp.resolve(String.join("-", what) + ".json");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DecoderShapeBenchmark.class.getName(), CHILD, result.toString()));
        cmd.addAll(what);
        cmd.addAll(shape.args());
        System.out.println("== " + String.join(" ", what));
        long t0 = System.nanoTime();
        Process proc = new ProcessBuilder(cmd).inheritIO().start();
        Thread killer = new Thread(proc::destroyForcibly, "decoder-bench-child-killer");
        Runtime.getRuntime().addShutdownHook(killer);                  // an interrupted run takes its configuration's JVM with it
        int code = proc.waitFor();
        Runtime.getRuntime().removeShutdownHook(killer);
        if (code != 0 || !Files.isRegularFile(result)) {
            String why = String.join(" ", what) + ": the JVM exited with " + code + (code == 137 ? " (killed: out of memory?)" : "");
            System.out.println("!! " + why);
            failures.add(why);
            return;
        }
        System.out.printf(Locale.ROOT, "   (%.0f s)%n", (System.nanoTime() - t0) / 1e9);
        into.add(Json.read(result));
        Files.delete(result);
    }

    /**
     * Checks {@link #forwardFlops} against the library's own count of the products a forward runs
     * ({@code Profiler.gemmFlops}) on one layer of this width (vocabulary 1,000, 2 x 24 tokens), and says how they compare.
     */
    static String checkCount(Shape full) {
        Shape s = new Shape(full.hidden(), 1, full.heads(), full.kvHeads(), full.headDim(), full.ffn(), 1000);
        int b = 2, seq = 24;
        TransformerModel m = s.config().architecture().builder().build(s.config(), new RandomCheckpoint(s), Precision.of(DataType.FLOAT));
        Batch batch = Batch.of(randomIds(new Random(2), b, seq, s.vocab()));
        io.peft4j.core.tensor.Profiler.reset();
        io.peft4j.core.tensor.Profiler.enable(true);
        try {
            Workspaces.run(() -> {
                m.lmLogits(m.forward(batch, ForwardContext.inference(b)).hidden());
                return new INDArray[0];
            });
        } finally {
            io.peft4j.core.tensor.Profiler.enable(false);
        }
        long profiled = io.peft4j.core.tensor.Profiler.gemmFlops();
        double counted = forwardFlops(s, b, seq, (long) b * seq);
        return profiled == (long) counted
                ? "the same count as the library's own for the products a forward runs (`Profiler.gemmFlops`, checked in this run on one layer of this width)"
                : String.format(Locale.ROOT, "while the library's own count of the products a forward runs (`Profiler.gemmFlops`) on one layer of this width, "
                + "vocabulary 1,000, 2 x 24 tokens, is %,d against this count's %,.0f (checked in this run)", profiled, counted);
    }

    /** This JVM's heap, -XX and -D options, which each configuration's JVM gets too. */
    private static List<String> jvmOptions() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xss") || a.startsWith("-XX:") || a.startsWith("-D")) out.add(a);
        }
        return out;
    }

    private static String render(Shape s, long params, int reps, int seq, int prompt, int newTokens, double sgemm, String count, String load,
                                 List<JsonNode> passes, List<JsonNode> generations, List<String> failures, double seconds) {
        boolean qwen = s.equals(QWEN25_05B);
        StringBuilder md = new StringBuilder(qwen ? "# Decoder benchmarks: Qwen2.5-0.5B's shape\n\n"
                : "# Decoder benchmarks: a smaller shape than Qwen2.5-0.5B's (a trial run, not the documented one)\n\n");
        md.append(String.format(Locale.ROOT, "Generated by `docs/generate-decoder-benchmarks.sh` on %s: %s, %d cores, Java %s, load average %s at the start; "
                        + "sgemm 2048³ in the same run: **%.1f GFLOP/s**. The whole run took %.1f minutes. Times are medians of %d runs after one warm-up; "
                        + "each configuration ran in its own JVM (options `%s`), so its peak resident memory (`VmHWM`) is its own. Compare ratios and "
                        + "fractions of sgemm, not absolute times, across machines.%n%n",
                LocalDate.now(), io.peft4j.core.Machine.cpuModel(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), load,
                sgemm, seconds / 60, reps, String.join(" ", jvmOptions())));
        md.append(String.format(Locale.ROOT, "The model: `qwen2` with hidden %d, %d layers, %d query and %d key/value heads of %d, SwiGLU %d, vocabulary %,d, "
                        + "tied embeddings, q/k/v biases: %,d parameters (%.2f GB in FP32, the matrices %.2f GB in BF16), **random weights** "
                        + "(N(0, 0.02²) matrices; speed and memory do not depend on the values). BF16 means `Precision.storedAs(BFLOAT16)`: "
                        + "the weight matrices kept in BF16, widened to FP32 where they are used, FP32 compute ([models.md](models.md#precision-bf16-or-f16-weights-fp32-compute)).%n%n",
                s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.headDim(), s.ffn(), s.vocab(), params, params * 4 / 1e9,
                (s.layerMatmulParams() * s.layers() + (long) s.vocab() * s.hidden()) * 2 / 1e9));

        md.append(String.format(Locale.ROOT, "## Forward and LoRA step, sequence %d%n%n", seq));
        md.append("**Forward**: the base model's forward and the LM head over every position, no gradients. **LoRA step**: LoRA r 8, alpha 16 on "
                + "`q_proj` and `v_proj`; the causal-LM loss on every token (`Objectives.causalLm`, all of the LM head's rows but each row's last); "
                + "backward; AdamW. GFLOP/s counts matrix-product FLOPs only (below); % is of the same run's sgemm.\n\n");
        md.append("| base weights | batch | forward tokens/s | forward GFLOP/s | LoRA step tokens/s | step GFLOP/s | step / forward | "
                + "peak RSS after loading | peak RSS, forward | peak RSS, step |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        StringBuilder raw = new StringBuilder();
        for (JsonNode r : passes) {
            int b = r.get("batch").asInt();
            double fwd = r.get("forward_s").asDouble(), step = r.get("step_s").asDouble(), tokens = (double) b * seq;
            double ff = forwardFlops(s, b, seq, (long) b * seq), sf = stepFlops(s, b, seq);
            md.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.1f (%.0f%%) | %.0f | %.1f (%.0f%%) | %.2f | %s | %s | %s |%n",
                    label(r), b, tokens / fwd, ff / fwd / 1e9, 100 * ff / fwd / 1e9 / sgemm, tokens / step, sf / step / 1e9, 100 * sf / step / 1e9 / sgemm,
                    step / fwd, gb(r.get("rss_loaded_kb")), gb(r.get("rss_forward_kb")), gb(r.get("rss_step_kb"))));
            raw.append(String.format(Locale.ROOT, "- %s, batch %d: forward %s s; step %s s; weights %.2f GB as kept; model built in %.1f s%n",
                    label(r), b, list(r.get("forward_runs")), list(r.get("step_runs")), r.get("weight_bytes").asLong() / 1e9, r.get("build_s").asDouble()));
        }
        md.append(String.format(Locale.ROOT, "%nFLOPs counted (`DecoderShapeBenchmark.forwardFlops`, `stepFlops`): per token 2 x %,d weights in the layers' "
                        + "matrix products (%,d per layer x %d) plus 2 x %,d for the LM head (vocabulary x hidden), plus attention's 4 · s · %d per token per layer "
                        + "(QKᵀ and the weighted values over the full s x s scores, which the model computes before masking): %.3g GFLOP per forward token at s = %d, "
                        + "%s. "
                        + "A step counts the forward (LM head on s - 1 rows per row) plus the backward to the activations, which passes through every frozen "
                        + "matrix once more (dX = dY · W; the frozen base has no weight gradients) and through attention's products twice more: "
                        + "step = 2 x (matrix products + head) + 3 x attention, %.3g GFLOP per token. LoRA's rank-8 products are not counted, "
                        + "nor are the backward products nothing needs subtracted (the library skips layer 0's gradients through q/k/v into the "
                        + "embeddings and its keys' gradient): at Qwen2.5-0.5B's shape each is about 0.15%% of a step and they nearly cancel. Norms, rotary, softmax and SwiGLU are not counted either. Step / forward is the ratio of the two times; the FLOP ratio alone would be %.2f.%n%n",
                s.layerMatmulParams() * s.layers(), s.layerMatmulParams(), s.layers(), (long) s.vocab() * s.hidden(), s.queryWidth(),
                forwardFlops(s, 1, seq, seq) / seq / 1e9, seq, count, stepFlops(s, 1, seq) / seq / 1e9, stepFlops(s, 1, seq) / forwardFlops(s, 1, seq, seq)));
        md.append("Peak RSS is the JVM's `VmHWM` (Java heap, ND4J's native arrays and workspaces, libraries): after the model is built, after the "
                + "forwards, and after the steps (the forwards ran first in the same JVM, so that column is the larger of the two, in practice the "
                + "step's). A garbage collection runs before each timed run (not timed); within a run, native arrays outside ND4J's workspaces "
                + "(the key/value cache's copies, results returned from a workspace) are freed when the JVM collects them, so the peak includes "
                + "what it had not collected yet, as it would in an application with these JVM options. After loading includes the JVM and "
                + "ND4J's libraries (a few hundred MB) besides the weights. GB = 10⁹ bytes.\n\n");

        md.append(String.format(Locale.ROOT, "## Generation with the key/value cache: prompt %d, %d new tokens, greedy%n%n", prompt, newTokens));
        md.append("One sequence is `Generator.generate` (the library's generation, `peft generate`: one sequence at a time). Several sequences are "
                + "one greedy loop over `Decoder.forward(batch, ctx, KvCache)` with every row in one cache (the prompts, then one token per row per "
                + "step): the model and the cache take a batch, `Generator` does not, so with `Generator` n sequences take n times the one-sequence "
                + "time. Tokens/s counts the new tokens of all sequences over the whole time, the prompt's pass included.\n\n");
        md.append("| base weights | sequences | new tokens/s | ms per step (all sequences) | peak RSS |\n|---|---:|---:|---:|---:|\n");
        for (JsonNode r : generations) {
            int n = r.get("sequences").asInt();
            double t = r.get("generate_s").asDouble();
            md.append(String.format(Locale.ROOT, "| %s | %d%s | %.1f | %.0f | %s |%n", label(r), n, n == 1 ? " (`Generator`)" : " (one batch)",
                    (double) n * newTokens / t, 1000 * t / newTokens, gb(r.get("rss_kb"))));
            raw.append(String.format(Locale.ROOT, "- %s, generation of %d sequence(s): %s s%n", label(r), n, list(r.get("generate_runs"))));
        }
        if (!failures.isEmpty()) {
            md.append("\n## Configurations that did not finish\n\n");
            failures.forEach(f -> md.append("- ").append(f).append('\n'));
        }
        md.append("\n## Raw times\n\n").append(raw);
        md.append(String.format(Locale.ROOT, "%nsgemm: 2048³ FP32 through ND4J (`Nd4j.gemm` into a preallocated matrix), the median of 5 after 2 warm-ups, "
                + "measured in the parent JVM before the configurations ran.%n"));
        return md.toString();
    }

    private static String label(JsonNode r) {
        return r.get("precision").asText().equals("FLOAT") ? "FP32" : r.get("precision").asText().equals("BFLOAT16") ? "BF16" : r.get("precision").asText();
    }

    private static String gb(JsonNode kb) {
        return String.format(Locale.ROOT, "%.2f GB", kb.asLong() * 1024 / 1e9);
    }

    private static String list(JsonNode xs) {
        List<String> out = new ArrayList<>();
        xs.forEach(x -> out.add(String.format(Locale.ROOT, "%.3f", x.asDouble())));
        return String.join(", ", out);
    }

    // ------------------------------------------------------------------ child: one configuration

    /**
     * {@code RESULT passes PRECISION BATCH SEQ REPS shape...} or {@code RESULT generate PRECISION SEQUENCES PROMPT NEW REPS
     * shape...}: builds the model, measures, writes a JSON object to RESULT.
     */
    private static void child(String[] a) throws Exception {
        Path result = Path.of(a[0]);
        String kind = a[1];
        DataType storage = DataType.valueOf(a[2]);
        int n = Integer.parseInt(a[3]);
        Map<String, String> o = options(Arrays.copyOfRange(a, kind.equals("passes") ? 6 : 7, a.length));
        Shape shape = shape(o);
        Precision precision = storage == DataType.FLOAT ? Precision.of(DataType.FLOAT) : Precision.storedAs(storage);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("precision", storage.name());
        long t0 = System.nanoTime();
        Nd4j.getRandom().setSeed(7);
        TransformerModel m = shape.config().architecture().builder().build(shape.config(), new RandomCheckpoint(shape), precision);
        r.put("build_s", (System.nanoTime() - t0) / 1e9);
        r.put("weight_bytes", m.parameters().values().stream().mapToLong(t -> t.value().length() * t.value().data().getElementSize()).sum());
        r.put("rss_loaded_kb", peakKb());
        Random rng = new Random(1);
        if (kind.equals("passes")) {
            int seq = Integer.parseInt(a[4]), reps = Integer.parseInt(a[5]);
            r.put("batch", n);
            int[][] ids = randomIds(rng, n, seq, shape.vocab());
            Batch batch = Batch.of(ids);
            List<Double> forward = times(reps, () -> Workspaces.run(() -> {
                m.lmLogits(m.forward(batch, ForwardContext.inference(n)).hidden());
                return new INDArray[0];
            }));
            r.put("forward_runs", forward);
            r.put("forward_s", ProbeBenchmark.median(forward));
            r.put("rss_forward_kb", peakKb());
            PeftModel p = PeftModel.of(m);
            p.add("default", LoraConfig.defaults().withR(8).withAlpha(16).withTargetModules("q_proj", "v_proj"), 1);
            Map<String, Tensor> params = p.trainableParameters();
            AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.01);
            opt.reserve(params);
            List<Example.Lm> examples = new ArrayList<>();
            for (int[] row : ids) {
                int[] mask = new int[row.length];
                Arrays.fill(mask, 1);
                examples.add(new Example.Lm(row, mask));
            }
            Objective<Example.Lm> objective = Objectives.causalLm(0);
            long[] step = {0};
            List<Double> steps = times(reps, () -> {
                ForwardContext ctx = new ForwardContext(n, null, true, step[0]++);
                Workspaces.run(() -> {
                    Tensor loss = objective.loss(p, examples, ctx);
                    loss.backward();
                    return new INDArray[0];
                });
                opt.step(params, 1e-4);
                params.values().forEach(Tensor::zeroGrad);
            });
            r.put("step_runs", steps);
            r.put("step_s", ProbeBenchmark.median(steps));
            r.put("rss_step_kb", peakKb());
        } else {
            int prompt = Integer.parseInt(a[4]), newTokens = Integer.parseInt(a[5]), reps = Integer.parseInt(a[6]);
            r.put("sequences", n);
            int[][] prompts = randomIds(rng, n, prompt, shape.vocab());
            Decoder d = (Decoder) m;
            List<Double> runs = times(reps, n == 1
                    ? () -> Generator.generate(d, prompts[0], newTokens, 0, 0, -1)
                    : () -> greedy(d, prompts, newTokens));
            r.put("generate_runs", runs);
            r.put("generate_s", ProbeBenchmark.median(runs));
            r.put("rss_kb", peakKb());
        }
        Json.write(result, r);
    }

    /**
     * Greedy decoding of every row of {@code prompts} (equal lengths) at once through one key/value cache: the
     * prompts in one pass, then one token per row per step; returns the new tokens, {@code [rows][newTokens]}.
     */
    static int[][] greedy(Decoder m, int[][] prompts, int newTokens) {
        KvCache cache = new KvCache(m.config().layers());
        int rows = prompts.length;
        int[][] out = new int[rows][newTokens];
        int[][] feed = prompts;
        for (int s = 0; s < newTokens; s++) {
            int[][] in = feed;
            INDArray next = Workspaces.run(() -> {
                ModelOutput o = m.forward(Batch.of(in), ForwardContext.inference(rows), cache);
                long t = o.hidden().size(1);
                INDArray logits = m.lmLogits(Ops.narrow(o.hidden(), 1, t - 1, 1)).value().reshape(rows, -1);
                return new INDArray[]{logits.argMax(1)};
            })[0];
            feed = new int[rows][1];
            for (int r = 0; r < rows; r++) out[r][s] = feed[r][0] = next.getInt(r);
        }
        return out;
    }

    private static int[][] randomIds(Random rng, int rows, int length, int vocab) {
        int[][] ids = new int[rows][length];
        for (int[] row : ids) for (int i = 0; i < length; i++) row[i] = 3 + rng.nextInt(vocab - 3);
        return ids;
    }

    /**
     * Seconds of {@code reps} runs after one warm-up, with a garbage collection before each (not timed), so that
     * native arrays the previous run left unreachable are freed and a run's peak memory is its own.
     */
    private static List<Double> times(int reps, Runnable run) {
        run.run();
        List<Double> t = new ArrayList<>();
        for (int i = 0; i < reps; i++) {
            System.gc();
            long t0 = System.nanoTime();
            run.run();
            t.add((System.nanoTime() - t0) / 1e9);
        }
        return t;
    }

    /** This process's peak resident set, {@code VmHWM} in kB (0 where {@code /proc} cannot be read). */
    static long peakKb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D", ""));
            }
        } catch (Exception e) {
            // not Linux
        }
        return 0;
    }

    // ------------------------------------------------------------------ arguments

    private static Map<String, String> options(String[] a) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < a.length; i += 2) {
            if (!a[i].startsWith("--") || i + 1 >= a.length) throw new IllegalArgumentException("expected --option value, got " + Arrays.toString(a));
            o.put(a[i].substring(2), a[i + 1]);
        }
        Set<String> known = Set.of("reps", "hidden", "layers", "heads", "kv-heads", "head-dim", "ffn", "vocab", "seq", "batches", "prompt",
                "new-tokens", "sequences", "precisions");
        for (String k : o.keySet()) if (!known.contains(k)) throw new IllegalArgumentException("unknown option --" + k + " (known: " + known + ")");
        return o;
    }

    private static Shape shape(Map<String, String> o) {
        Shape q = QWEN25_05B;
        int hidden = Integer.parseInt(o.getOrDefault("hidden", "" + q.hidden())), heads = Integer.parseInt(o.getOrDefault("heads", "" + q.heads()));
        return new Shape(hidden, Integer.parseInt(o.getOrDefault("layers", "" + q.layers())), heads,
                Integer.parseInt(o.getOrDefault("kv-heads", "" + q.kvHeads())), Integer.parseInt(o.getOrDefault("head-dim", "" + hidden / heads)),
                Integer.parseInt(o.getOrDefault("ffn", "" + q.ffn())), Integer.parseInt(o.getOrDefault("vocab", "" + q.vocab())));
    }

    private static int[] ints(String csv) {
        return csv.isBlank() || csv.equals("none") ? new int[0] : Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    // ------------------------------------------------------------------ random weights

    /**
     * A Qwen2 checkpoint in memory: the names and {@code [out, in]} shapes Hugging Face stores, each tensor drawn
     * when the model asks for it, in the type asked for; matrices N(0, 0.02²) a block of rows at a time (so a BF16
     * matrix never exists whole in FP32), biases N(0, 0.02²), norm weights 1.
     */
    static final class RandomCheckpoint implements Checkpoint {
        private final Map<String, long[]> shapes = new LinkedHashMap<>();

        RandomCheckpoint(Shape s) {
            shapes.put("model.embed_tokens.weight", new long[]{s.vocab(), s.hidden()});
            for (int i = 0; i < s.layers(); i++) {
                String p = "model.layers." + i + ".";
                shapes.put(p + "input_layernorm.weight", new long[]{s.hidden()});
                shapes.put(p + "self_attn.q_proj.weight", new long[]{s.queryWidth(), s.hidden()});
                shapes.put(p + "self_attn.q_proj.bias", new long[]{s.queryWidth()});
                shapes.put(p + "self_attn.k_proj.weight", new long[]{s.kvWidth(), s.hidden()});
                shapes.put(p + "self_attn.k_proj.bias", new long[]{s.kvWidth()});
                shapes.put(p + "self_attn.v_proj.weight", new long[]{s.kvWidth(), s.hidden()});
                shapes.put(p + "self_attn.v_proj.bias", new long[]{s.kvWidth()});
                shapes.put(p + "self_attn.o_proj.weight", new long[]{s.hidden(), s.queryWidth()});
                shapes.put(p + "post_attention_layernorm.weight", new long[]{s.hidden()});
                shapes.put(p + "mlp.gate_proj.weight", new long[]{s.ffn(), s.hidden()});
                shapes.put(p + "mlp.up_proj.weight", new long[]{s.ffn(), s.hidden()});
                shapes.put(p + "mlp.down_proj.weight", new long[]{s.hidden(), s.ffn()});
            }
            shapes.put("model.norm.weight", new long[]{s.hidden()});
        }

        @Override
        public Set<String> names() {
            return shapes.keySet();
        }

        @Override
        public long[] shape(String name) {
            return shapes.get(name).clone();
        }

        @Override
        public INDArray load(String name, DataType type) {
            long[] shape = shapes.get(name);
            if (name.endsWith("norm.weight")) return Nd4j.ones(type, shape);
            if (shape.length == 1) return Nd4j.randn(DataType.FLOAT, shape).muli(0.02).castTo(type);
            INDArray out = Nd4j.createUninitialized(type, shape[0], shape[1]);
            long block = Math.max(1, (1 << 22) / shape[1]);
            for (long r0 = 0; r0 < shape[0]; r0 += block) {
                long rows = Math.min(block, shape[0] - r0);
                INDArray part = Nd4j.randn(DataType.FLOAT, rows, shape[1]).muli(0.02);
                INDArray typed = type == DataType.FLOAT ? part : part.castTo(type);
                out.get(NDArrayIndex.interval(r0, r0 + rows), NDArrayIndex.all()).assign(typed);
                part.close();
                if (typed != part) typed.close();
            }
            return out;
        }

        @Override
        public Path path() {
            return Path.of("random-weights");
        }

        @Override
        public String fileOf(String name) {
            return "random-weights";
        }

        @Override
        public void close() {
        }
    }
}
