package io.peft4j.benchmarks;

import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.spark.ObjectiveFactory;
import io.peft4j.spark.SparkTrainer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Data-parallel training on Spark ({@code peft-spark}'s {@link SparkTrainer}) against the single-process {@link Trainer}
 * on the same examples and config: (1) the bytes a step ships, computed from parameter counts; (2) step time and
 * throughput in local mode ({@code local[1]}, {@code local[2]}) against the single process, alternating, medians, with
 * each Spark step split into task compute, Spark's own time in the step's job and the driver's time outside it (from a
 * {@link SparkListener}); (3) the same on a standalone cluster with 1 and 2 one-core executors, when
 * {@code -Dpeft4j.bench.cluster=spark://HOST:PORT} names its master ({@code docs/generate-spark-benchmarks.sh} starts a
 * master and two one-core workers on this machine); (4) a projection on paper for N machines from the measured compute
 * time per micro-batch and communication time per step. Writes {@code docs/benchmarks-spark.md} with the CPU model and
 * the same run's sgemm. Usage: {@code SparkBenchmarks OUTPUT.md [ROUNDS [STEPS [MODEL]]]}: ROUNDS runs of each
 * configuration, alternating (default 3), each of 1 + STEPS optimizer steps whose first is not timed (default 4), on
 * MODEL (a directory or a known name; default bert-base-uncased).
 */
public final class SparkBenchmarks {
    /** Examples per micro-batch, tokens per example, micro-batches per optimizer step (so local[2] has one per partition). */
    static final int BATCH = 16, TOKENS = 64, MICRO = 2;
    /** The projection's step: this many micro-batches of {@link #BATCH} (a global batch of 256). */
    static final int PROJECTED_MICRO = 16;
    static final double LINK_BITS_PER_S = 1e9;

    private SparkBenchmarks() {
    }

    /** One way of training: the single process ({@code master} null), or SparkTrainer on {@code master} over {@code partitions}. */
    record Config(String name, String master, int partitions, int executors) {
        boolean spark() {
            return master != null;
        }

        boolean cluster() {
            return master != null && master.startsWith("spark://");
        }
    }

    /** What one configuration's runs measured, over all rounds (the first step of each run left out). */
    static final class Measured {
        final List<Double> stepS = new ArrayList<>(), computeS = new ArrayList<>(), inJobS = new ArrayList<>(), outsideS = new ArrayList<>();
        double maxLossDifference;
        long broadcastBytes, gradientBytes;
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/benchmarks-spark.md");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        String modelName = args.length > 3 ? args[3] : "bert-base-uncased";
        String cluster = System.getProperty("peft4j.bench.cluster");

        Path dir = ModelHub.resolve(modelName);
        TransformerModel bert = Models.load(dir, DataType.FLOAT);
        List<TextRecord> records = Datasets.load("spam", Split.TRAIN).subList(0, BATCH * MICRO * (steps + 1));   // one epoch: 1 + STEPS steps
        List<String> labels = Labels.of(records);
        DataSpec spec = Datasets.defaultSpec("spam");
        int tokens = Math.min(TOKENS, bert.config().maxPositions());     // a tiny test model has fewer positions
        List<Example.Classification> data = new TextEncoder(Tokenizers.load(dir), spec.textFields(), tokens, Truncation.END).classification(records, labels);
        double meanTokens = data.stream().mapToInt(e -> e.ids().length).average().orElse(0);

        List<Config> configs = new ArrayList<>(List.of(
                new Config("single process (`Trainer`)", null, 1, 0),
                new Config("Spark `local[1]`, 1 partition", "local[1]", 1, 1),
                new Config("Spark `local[2]`, 2 partitions", "local[2]", 2, 1)));
        if (cluster != null) {
            configs.add(new Config("standalone, 1 executor (1 core), 1 partition", cluster, 1, 1));
            configs.add(new Config("standalone, 2 executors (1 core each), 2 partitions", cluster, 2, 2));
        }

        StringBuilder md = new StringBuilder("# Spark benchmarks\n\n");
        md.append(BenchmarkPage.generatedBy("docs/generate-spark-benchmarks.sh"));
        md.append(String.format(Locale.ROOT, "Data-parallel training with `peft-spark`'s `SparkTrainer` against the single-process `Trainer` on the same "
                        + "examples and config: %s (FP32), LoRA r = 8 on query and value and a 2-label head on [CLS], AdamW at 5e-4; micro-batches of "
                        + "%d examples × up to %d tokens (the built-in `spam` data set's first %d training records, subject and body truncated to %d "
                        + "tokens: %.1f tokens on average), %d micro-batches a step (%d examples). Each configuration runs %d times, the "
                        + "configurations alternating; each run takes 1 + %d optimizer steps from the same initial parameters, and its first step "
                        + "(which groups the epoch's examples and loads the base on the executors) is not timed: medians of %d steps. "
                        + "Compare ratios, not absolute times, across machines.%n%n", modelName, BATCH, tokens,
                records.size(), tokens, meanTokens, MICRO, BATCH * MICRO, rounds, steps, rounds * steps));

        Map<Config, Measured> measured = measure(configs, bert, dir, data, labels, rounds, steps);
        md.append(bytes(bert, labels, measured.get(configs.get(1))));
        md.append(localMode(configs, measured));
        md.append(clusterMode(configs, measured, cluster));
        md.append(projection(configs, measured));
        AtomicFiles.write(out, md.toString().getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
    }

    // ------------------------------------------------------------------ the runs

    /** Every configuration {@code rounds} times, alternating: round 1 runs each once, then round 2, ... */
    static Map<Config, Measured> measure(List<Config> configs, TransformerModel bert, Path dir, List<Example.Classification> data, List<String> labels,
                                         int rounds, int steps) throws InterruptedException {
        Map<Config, Measured> out = new ConcurrentHashMap<>();
        for (Config c : configs) out.put(c, new Measured());
        for (int round = 0; round < rounds; round++) {
            List<Double> referenceLosses = null;
            for (Config c : configs) {
                System.out.printf("round %d of %d: %s%n", round + 1, rounds, c.name());
                List<Double> losses = run(c, bert, dir, data, labels, steps, out.get(c));
                if (referenceLosses == null) referenceLosses = losses;         // the single process runs first in each round
                for (int i = 0; i < losses.size(); i++) {
                    out.get(c).maxLossDifference = Math.max(out.get(c).maxLossDifference, Math.abs(losses.get(i) - referenceLosses.get(i)));
                }
            }
        }
        return out;
    }

    /** One run of {@code c}: 1 + {@code steps} steps from the same initial parameters; adds its timed steps to {@code m}; returns the losses. */
    static List<Double> run(Config c, TransformerModel bert, Path dir, List<Example.Classification> data, List<String> labels, int steps,
                            Measured m) throws InterruptedException {
        PeftModel model = model(bert, dir, labels);
        TrainingConfig cfg = TrainingConfig.defaults().withLearningRate(5e-4).withBatchSize(BATCH, MICRO).withMaxSteps(steps + 1).withSeed(42);
        StepClock clock = new StepClock();
        try {
            if (!c.spark()) {
                clock.start();
                new Trainer<>(model, Objectives.classification(0), cfg).addListener(clock).fit(data, null, null);
                for (int s = 1; s < clock.steps(); s++) m.stepS.add(clock.seconds(s));
                return clock.losses;
            }
            SparkSession spark = session(c);
            JobTimes jobs = new JobTimes();
            spark.sparkContext().addSparkListener(jobs);
            try {
                SparkTrainer<Example.Classification> trainer = new SparkTrainer<>(spark, model, dir, ObjectiveFactory.classification(0), cfg)
                        .partitions(c.partitions()).addListener(clock);
                var rdd = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(data, c.partitions());
                clock.start();
                trainer.fit(rdd);
                jobs.awaitEnded();
                m.broadcastBytes = trainer.broadcastBytesPerStep();
                m.gradientBytes = trainer.gradientBytesPerStep();
                for (int s = 1; s < clock.steps(); s++) {
                    long from = clock.ends.get(s), to = clock.ends.get(s + 1);
                    double step = clock.seconds(s), job = jobs.wallSeconds(from, to), compute = jobs.longestTaskSeconds(from, to);
                    m.stepS.add(step);
                    m.computeS.add(compute);
                    m.inJobS.add(job - compute);
                    m.outsideS.add(step - job);
                }
                return clock.losses;
            } finally {
                spark.stop();
                SparkSession.clearActiveSession();
                SparkSession.clearDefaultSession();
            }
        } finally {
            model.remove(PeftModel.DEFAULT);
        }
    }

    /** The driver's model: the frozen base, LoRA r = 8 on query and value, a 2-label head; the same initial values every time. */
    static PeftModel model(TransformerModel bert, Path dir, List<String> labels) {
        PeftModel model = PeftModel.of(bert, dir.toString());
        model.add(PeftModel.DEFAULT, lora(), 42);
        model.setHead(ClassificationHead.classification(Pooling.CLS, labels, bert.config().hidden(), DataType.FLOAT, 42));
        return model;
    }

    static LoraConfig lora() {
        return LoraConfig.defaults().withR(8).withTargetModules("query", "value");
    }

    /**
     * A Spark session for {@code c}. On a cluster: {@code executors} executors of 1 core each (3 GB of heap, one ND4J thread),
     * and it waits until they have registered. {@code spark.*} system properties (the script's
     * {@code spark.executor.extraClassPath}) apply too.
     */
    static SparkSession session(Config c) throws InterruptedException {
        SparkSession.Builder b = SparkSession.builder().master(c.master()).appName("peft4j spark benchmarks")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1");
        if (c.cluster()) {
            b.config("spark.cores.max", String.valueOf(c.executors())).config("spark.executor.cores", "1").config("spark.executor.memory", "3g")
                    .config("spark.executor.extraJavaOptions", "-Dorg.bytedeco.javacpp.maxbytes=6G -Dorg.bytedeco.javacpp.maxphysicalbytes=8G "
                            + "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
                    .config("spark.executorEnv.OMP_NUM_THREADS", "1");
            for (String v : List.of("GOMP_SPINCOUNT", "OPENBLAS_THREAD_TIMEOUT", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")) {
                if (System.getenv(v) != null) b.config("spark.executorEnv." + v, System.getenv(v));
            }
        }
        SparkSession spark = b.getOrCreate();
        if (c.cluster()) {
            long deadline = System.currentTimeMillis() + 180_000;
            while (spark.sparkContext().statusTracker().getExecutorInfos().length < c.executors() + 1) {   // the driver is listed too
                if (System.currentTimeMillis() > deadline) {
                    spark.stop();
                    throw new IllegalStateException(c.master() + ": " + c.executors() + " executors did not register within 180 s (are "
                            + c.executors() + " one-core workers up?)");
                }
                Thread.sleep(200);
            }
        }
        return spark;
    }

    /** The start of the run and the end of each step (wall clock, ms); the steps' losses. */
    static final class StepClock implements TrainingListener {
        final List<Long> ends = new ArrayList<>();
        final List<Double> losses = new ArrayList<>();

        void start() {
            ends.clear();
            losses.clear();
            ends.add(System.currentTimeMillis());
        }

        @Override
        public void onStep(Progress p) {
            ends.add(System.currentTimeMillis());
            losses.add(p.loss());
        }

        /** The steps taken. */
        int steps() {
            return ends.size() - 1;
        }

        /** Step {@code s}'s time (0-based: from the end of step s - 1, or the start), in seconds. */
        double seconds(int s) {
            return (ends.get(s + 1) - ends.get(s)) / 1e3;
        }
    }

    /** Spark's jobs as its listener bus reports them: start and end (wall clock, ms) and the longest task's run time. */
    static final class JobTimes extends SparkListener {
        private final Map<Integer, Integer> stageJob = new ConcurrentHashMap<>();
        private final Map<Integer, long[]> jobs = new ConcurrentHashMap<>();   // job id -> {start, end (-1 while running), longest task run}

        @Override
        public void onJobStart(SparkListenerJobStart e) {
            jobs.put(e.jobId(), new long[]{e.time(), -1, 0});
            for (Object stage : scala.jdk.javaapi.CollectionConverters.asJava(e.stageIds())) stageJob.put((Integer) stage, e.jobId());
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd e) {
            Integer job = stageJob.get(e.stageId());
            if (job == null || e.taskMetrics() == null) return;
            long[] j = jobs.get(job);
            synchronized (j) {
                j[2] = Math.max(j[2], e.taskMetrics().executorRunTime());
            }
        }

        @Override
        public void onJobEnd(SparkListenerJobEnd e) {
            long[] j = jobs.get(e.jobId());
            if (j != null) j[1] = e.time();
        }

        /** Waits (up to 10 s) until the bus has delivered every job's end. */
        void awaitEnded() throws InterruptedException {
            for (int i = 0; i < 100 && jobs.values().stream().anyMatch(j -> j[1] < 0); i++) Thread.sleep(100);
        }

        /** The wall time of the jobs that started between {@code from} and {@code to}. */
        double wallSeconds(long from, long to) {
            return jobs.values().stream().filter(j -> j[0] >= from && j[0] <= to).mapToLong(j -> j[1] - j[0]).sum() / 1e3;
        }

        /** The longest task's run time in those jobs (one task per partition runs the step's micro-batches). */
        double longestTaskSeconds(long from, long to) {
            return jobs.values().stream().filter(j -> j[0] >= from && j[0] <= to).mapToLong(j -> j[2]).max().orElse(0) / 1e3;
        }
    }

    // ------------------------------------------------------------------ 1. bytes

    /** Trainable values per method, from parameter counts, against whole-model data parallelism. */
    static String bytes(TransformerModel bert, List<String> labels, Measured loraRun) {
        record M(String name, PeftConfig config) {
        }
        long base = bert.parameters().values().stream().mapToLong(SparkBenchmarks::values).sum();
        long head = ClassificationHead.classification(Pooling.CLS, labels, bert.config().hidden(), DataType.FLOAT, 1).parameters().values().stream()
                .mapToLong(SparkBenchmarks::values).sum();
        long whole = base + head;
        StringBuilder md = new StringBuilder("## 1. Bytes shipped per step\n\n"
                + "Exact, computed from parameter counts (no timing): FP32 values are 4 bytes. Each step the driver broadcasts the trainable "
                + "values (each executor fetches one copy) and each partition that ran a micro-batch returns one gradient sum of the same size, "
                + "so a step on E executors and P partitions ships (E + P) × trainable bytes. Whole-model data parallelism (full fine-tuning: "
                + "every base parameter trainable) ships the whole model's values and gradients the same way. Every method here has the "
                + "2-label head (" + String.format(Locale.ROOT, "%,d", head) + " values) besides its adapter.\n\n"
                + "| method | trainable values | broadcast per step | gradient per partition | a step, E = P = 2 | a step, E = P = 16 | / whole model |\n"
                + "|---|---:|---:|---:|---:|---:|---:|\n");
        for (M m : List.of(new M("LoRA r = 8 (query, value) + head", lora()), new M("prompt tuning (20 virtual tokens) + head", PromptTuningConfig.random(20)),
                new M("IA3 + head", Ia3Config.defaults()))) {
            PeftModel model = PeftModel.of(bert);
            model.add(PeftModel.DEFAULT, m.config(), 1);
            long n = model.trainableParameters().values().stream().mapToLong(SparkBenchmarks::values).sum() + head;
            model.remove(PeftModel.DEFAULT);
            md.append(bytesRow(m.name(), n, whole));
        }
        md.append(bytesRow("whole model (all base parameters + head)", whole, whole));
        if (loraRun != null && loraRun.broadcastBytes > 0) {
            md.append(String.format(Locale.ROOT, "%nCross-check: the LoRA runs of section 2 reported `broadcastBytesPerStep()` = %,d bytes and "
                    + "`gradientBytesPerStep()` = %,d bytes (the payload: the arrays, without Java serialization's framing).%n", loraRun.broadcastBytes, loraRun.gradientBytes));
        }
        return md.append("\n").toString();
    }

    private static String bytesRow(String name, long values, long whole) {
        long b = 4 * values;
        return String.format(Locale.ROOT, "| %s | %,d | %s | %s | %s | %s | %.4f |%n", name, values, size(b), size(b), size(4 * b), size(32 * b), (double) values / whole);
    }

    static long values(Tensor t) {
        long n = 1;
        for (long d : t.shape()) n *= d;
        return n;
    }

    static String size(long bytes) {
        if (bytes >= 1e9) return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
        if (bytes >= 1e6) return String.format(Locale.ROOT, "%.2f MB", bytes / 1e6);
        return String.format(Locale.ROOT, "%.1f KB", bytes / 1e3);
    }

    // ------------------------------------------------------------------ 2. and 3. step times

    static String localMode(List<Config> configs, Map<Config, Measured> measured) {
        List<Config> local = configs.stream().filter(c -> !c.cluster()).toList();
        return "## 2. Step time and throughput: Spark local mode against the single process\n\n"
                + "Local mode runs the executors as threads of the driver's JVM, so nothing crosses a network; ND4J's threads are the process's "
                + "default (one per core), so `local[2]`'s two tasks share the two cores with two threads each.\n\n"
                + stepTable(local, measured, configs.get(0)) + overheadTable(local, measured)
                + "Task compute: the longest task's run time (setting the step's values, its micro-batches' forward and backward, the gradient "
                + "sum); Spark in the job: the step's job's wall time less that (launching and deserializing the tasks, returning the results, "
                + "the `treeReduce` on the driver); driver outside the job: the step's time less the job's (broadcasting the values, setting the "
                + "summed gradients, clipping, AdamW). Loss difference: the largest |loss − the single process's loss| over the same steps "
                + "(float32 sums in another order).\n\n";
    }

    static String clusterMode(List<Config> configs, Map<Config, Measured> measured, String cluster) {
        StringBuilder md = new StringBuilder("## 3. Scaling across executors: a standalone cluster on this machine\n\n");
        List<Config> standalone = configs.stream().filter(Config::cluster).toList();
        if (standalone.isEmpty()) {
            return md.append("Not run: no cluster given (`docs/generate-spark-benchmarks.sh` starts one and passes `-Dpeft4j.bench.cluster`).\n\n").toString();
        }
        int cores = Runtime.getRuntime().availableProcessors();
        md.append("A standalone master and two workers of 1 core each on this machine (`docs/generate-spark-benchmarks.sh` starts them from the "
                        + "Maven jars, as docs/spark.md's \"Running\" does), the driver in the benchmark's JVM (client mode); the application takes 1 "
                        + "executor (`spark.cores.max` = 1: one worker, the other idle) or 2 (one on each worker), each with one ND4J thread and its own "
                        + "copy of the base, loaded from the model's directory on this machine (master " + cluster + "). **Two cores bound this**: this machine has " + cores
                        + " cores, so the 2 executors use all of them and the driver shares them; it shows the mechanism and its overhead, not how "
                        + "far a real cluster scales (section 4 projects that).\n\n")
                .append(stepTable(standalone, measured, standalone.get(0))).append(overheadTable(standalone, measured));
        return md.toString();
    }

    static String stepTable(List<Config> configs, Map<Config, Measured> measured, Config reference) {
        StringBuilder md = new StringBuilder("| run | step (median) | examples/s | / " + (reference.spark() ? "1 executor" : "single process")
                + " | steps (s) | loss difference |\n|---|---:|---:|---:|---|---:|\n");
        double ref = ProbeBenchmark.median(measured.get(reference).stepS);
        for (Config c : configs) {
            Measured m = measured.get(c);
            double s = ProbeBenchmark.median(m.stepS);
            md.append(String.format(Locale.ROOT, "| %s | %.2f s | %.1f | %.2f | %s | %s |%n", c.name(), s, BATCH * MICRO / s, s / ref,
                    ProbeBenchmark.fmt(m.stepS), c == configs.get(0) && !c.spark() ? "(reference)" : String.format(Locale.ROOT, "%.1e", m.maxLossDifference)));
        }
        return md.append("\n").toString();
    }

    static String overheadTable(List<Config> configs, Map<Config, Measured> measured) {
        StringBuilder md = new StringBuilder("| run | step | task compute | Spark in the job | driver outside the job | not compute |\n|---|---:|---:|---:|---:|---:|\n");
        for (Config c : configs) {
            if (!c.spark()) continue;
            Measured m = measured.get(c);
            double s = ProbeBenchmark.median(m.stepS), comp = ProbeBenchmark.median(m.computeS);
            md.append(String.format(Locale.ROOT, "| %s | %.2f s | %.2f s | %.3f s | %.3f s | %.1f %% |%n", c.name(), s, comp,
                    ProbeBenchmark.median(m.inJobS), ProbeBenchmark.median(m.outsideS), 100 * (s - comp) / s));
        }
        return md.append("\n(Medians of each part separately: they need not add up to the step's median.)\n\n").toString();
    }

    // ------------------------------------------------------------------ 4. projection

    /**
     * step(N) = ceil(M / N) × t_mb + c_1 + d × log2(N): compute split over N executors, communication growing with a binary
     * tree's depth. t_mb, c_1 and d come from the 1- and 2-executor runs (the cluster's when it ran, else local[1]'s and local[2]'s).
     */
    static String projection(List<Config> configs, Map<Config, Measured> measured) {
        List<Config> standalone = configs.stream().filter(Config::cluster).toList();
        Config one = standalone.isEmpty() ? configs.get(1) : standalone.get(0), two = standalone.isEmpty() ? configs.get(2) : standalone.get(1);
        Measured m1 = measured.get(one), m2 = measured.get(two);
        int perTask = (MICRO + one.partitions() - 1) / one.partitions();
        double tmb = ProbeBenchmark.median(m1.computeS) / perTask;
        double c1 = ProbeBenchmark.median(notCompute(m1)), c2 = ProbeBenchmark.median(notCompute(m2));
        double floor = m1.gradientBytes * 8 / LINK_BITS_PER_S;
        double d = Math.max(c2 - c1, floor);
        StringBuilder md = new StringBuilder("## 4. Projection for N machines (projected, not measured)\n\n");
        md.append(String.format(Locale.ROOT, "**Projected on paper** from this run's measurements, not measured on N machines. A step of M = %d "
                        + "micro-batches of %d examples (%d examples) on N executors like \"%s\", one partition each:%n%n"
                        + "    step(N) = ceil(M / N) × t_mb + c_1 + d × log2(N)%n%n"
                        + "- t_mb = %.3f s, the compute time of one micro-batch: the median longest task of \"%s\" (%d micro-batch%s a task) / %d;%n"
                        + "- c_1 = %.3f s, the communication and driver time of a step with 1 executor (step − task compute, median: the broadcast, "
                        + "launching the task, returning its gradients, AdamW on the driver);%n"
                        + "- d = %.3f s, what each level of the reduction tree adds: the same time with 2 executors (%.3f s, \"%s\") minus c_1, "
                        + "but at least the time to send one gradient (%s) over a 1 Gbit/s link (%.4f s)%s.%n%n"
                        + "The model assumes N identical executors, a network as fast as this run's for everything but the tree levels, and a "
                        + "binary tree (log2 N levels; `SparkTrainer`'s default `treeDepth(2)` adds its N gradients in at most two levels, and the "
                        + "torrent broadcast also grows about with log N). It ignores stragglers, and that at N = M each executor computes one "
                        + "micro-batch and waits for the slowest.%n%n",
                PROJECTED_MICRO, BATCH, PROJECTED_MICRO * BATCH, one.name(), tmb, one.name(), perTask, perTask == 1 ? "" : "es", perTask, c1, d, c2,
                two.name(), size(m1.gradientBytes), floor, c2 - c1 < floor ? " (the measured difference was below that, so the floor is used)" : ""));
        md.append("| N (projected) | step | examples/s | speed-up over N = 1 | efficiency (speed-up / N) |\n|---:|---:|---:|---:|---:|\n");
        double s1 = PROJECTED_MICRO * tmb + c1;
        for (int n : new int[]{1, 2, 4, 8, 16}) {
            double s = Math.ceil((double) PROJECTED_MICRO / n) * tmb + c1 + d * (Math.log(n) / Math.log(2));
            md.append(String.format(Locale.ROOT, "| %d | %.2f s | %.1f | %.2f | %.2f |%n", n, s, PROJECTED_MICRO * BATCH / s, s1 / s, s1 / s / n));
        }
        return md.append("\n").toString();
    }

    private static List<Double> notCompute(Measured m) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < m.stepS.size(); i++) out.add(m.stepS.get(i) - m.computeS.get(i));
        return out;
    }
}
