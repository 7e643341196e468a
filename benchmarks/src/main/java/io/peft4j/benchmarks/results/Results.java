package io.peft4j.benchmarks.results;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.Machine;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.demo.TaskPrompts;
import io.peft4j.instruct.InstructTask;
import io.peft4j.instruct.Study;
import io.peft4j.instruct.StudyConfig;
import io.peft4j.instruct.StudyListener;
import io.peft4j.instruct.StudyResult;
import io.peft4j.probe.LabeledTexts;
import io.peft4j.probe.ProbeConfig;
import io.peft4j.probe.ProbeListener;
import io.peft4j.probe.ProbeResult;
import io.peft4j.probe.Probing;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Calibration;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The experiments behind {@code docs/results.md}, on the real BERT-base-uncased and the built-in datasets' train and
 * dev splits: zero-shot template + verbalizer with and without calibration, few-shot (16 per label, 5 seeds) template +
 * verbalizer against a classification head with LoRA, full data, layer-wise probes, and multi-task instruction tuning
 * measured leave-one-cluster-out. Each section writes its numbers
 * to {@code <out>/<section>.json}; {@code render} turns whatever sections exist into {@code results.md}. Every setting
 * (templates and label words: {@link TaskPrompts}; learning rates, steps) is fixed in advance; nothing is tuned on the dev sets, which are
 * only scored (the datasets' test splits are held back).
 *
 * <pre>
 * java ... Results OUT_DIR zero-shot|few-shot|probes|instruct|render
 * </pre>
 *
 * <p>{@code render} also summarises the {@code --full} demo runs under {@code OUT_DIR/demo/<task>/}, which
 * {@code docs/generate-results.sh demo} makes with the {@code peft demo} command (not here).
 */
public final class Results {
    private static final Logger LOG = LoggerFactory.getLogger(Results.class);
    static final String MODEL = "bert-base-uncased";

    private Results() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Results OUT_DIR zero-shot|few-shot|probes|instruct|render");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        switch (args[1]) {
            case "zero-shot" -> write(out, "zero-shot", zeroShot());
            case "few-shot" -> write(out, "few-shot", fewShot(out));
            case "probes" -> write(out, "probes", probes(out));
            case "instruct" -> write(out, "instruct", instruct(out));
            case "render" -> Render.write(out, out.getParent().resolve("results.md"));
            default -> throw new IllegalArgumentException("unknown section " + args[1]);
        }
        LOG.info("{} took {} s", args[1], Math.round((System.nanoTime() - t0) / 1e9));
    }

    private static void write(Path out, String section, Map<String, Object> result) {
        result.put("machine", Machine.describe());
        Json.write(out.resolve(section + ".json"), result);
    }

    // ------------------------------------------------------------------ zero-shot

    static Map<String, Object> zeroShot() {
        Path dir = ModelHub.resolve(MODEL);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        List<Object> tasks = new ArrayList<>();
        long t0 = System.nanoTime();
        for (TaskPrompts.Prompt p : TaskPrompts.ALL) {
            long t = System.nanoTime();
            var spec = Datasets.defaultSpec(p.task());
            List<TextRecord> train = Datasets.load(p.task(), Split.TRAIN), dev = Datasets.load(p.task(), Split.DEV);
            Verbalizer v = Verbalizer.parse(p.verbalizer());
            var setup = new ClassifierTraining.Setup(MODEL, new ClassifierTraining.Method.None(), Template.parse(p.template()), v, spec, p.maxLength(),
                    Truncation.END, TrainingConfig.defaults());
            PromptClassifier clf = (PromptClassifier) ClassifierTraining.build(PeftModel.of(base, MODEL), tok, setup, v.labels(), 0);
            List<Map<String, String>> inputs = dev.stream().map(TextRecord::fields).toList();
            double[][] scores = new double[inputs.size()][];
            INDArray sum = null;
            int bs = 16;
            for (int s = 0; s < inputs.size(); s += bs) {
                INDArray rows = clf.vocabularyLogProbs(inputs.subList(s, Math.min(inputs.size(), s + bs)), bs);
                double[][] c = clf.labelWords().scores(Tensor.constant(rows)).value().toDoubleMatrix();
                System.arraycopy(c, 0, scores, s, c.length);
                sum = sum == null ? rows.sum(0) : sum.addi(rows.sum(0));
            }
            int[] gold = TextClassifier.goldIndices(dev, clf.labels());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("task", p.task());
            row.put("template", p.template());
            row.put("verbalizer", p.verbalizer());
            row.put("dev_examples", dev.size());
            row.put("majority", majority(train, dev, clf.labels()).toJson());
            row.put("none", ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(scores)).toJson());
            Calibration cf = clf.contentFreeCalibration();
            row.put("content_free", ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(cf.apply(scores))).toJson());
            Calibration un = Calibration.meanOf(sum.divi(inputs.size()), clf.labelWords());
            row.put("unlabelled", ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(un.apply(scores))).toJson());
            row.put("seconds", (System.nanoTime() - t) / 1e9);
            tasks.add(row);
            LOG.info("zero-shot {}: {}", p.task(), row);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", MODEL);
        out.put("tasks", tasks);
        out.put("seconds", (System.nanoTime() - t0) / 1e9);
        return out;
    }

    /** Always answering the training split's most frequent label, scored on dev. */
    static ClassificationReport majority(List<TextRecord> train, List<TextRecord> dev, List<String> labels) {
        String top = Labels.mostFrequent(train);
        int[] gold = TextClassifier.goldIndices(dev, labels), pred = new int[gold.length];
        java.util.Arrays.fill(pred, labels.indexOf(top));
        return ClassificationReport.of(labels, gold, pred);
    }

    // ------------------------------------------------------------------ few-shot and full data

    /**
     * The few-shot tasks (the cheap one first): 16 examples per label, 5 seeds, the two classifiers alternating seed by
     * seed; then all the training data once per classifier.
     */
    static final List<String> FEW_SHOT_TASKS = List.of("opinion-words", "spam");
    static final int SHOTS = 16, SEEDS = 5, FEW_SHOT_LENGTH_SPAM = 128;

    /**
     * Runs the few-shot section, writing {@code few-shot.json} after every run ({@code "complete": false} until the last):
     * the section takes hours, and a rerun skips the runs already in the file, so an interrupted run loses one run.
     */
    static Map<String, Object> fewShot(Path out) {
        Path file = out.resolve("few-shot.json");
        List<Object> runs = new ArrayList<>();
        double previousSeconds = 0;
        if (Files.exists(file)) {
            JsonNode old = Json.read(file);
            for (JsonNode r : old.path("runs")) runs.add(Json.MAPPER.convertValue(r, Map.class));
            previousSeconds = old.path("seconds").asDouble();
        }
        java.util.Set<String> done = new java.util.HashSet<>();
        for (Object r : runs) done.add(runKey((Map<?, ?>) r));
        Path dir = ModelHub.resolve(MODEL);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        long t0 = System.nanoTime();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", MODEL);
        result.put("method", "lora r=8 alpha=16 on query, value");
        result.put("shots", SHOTS);
        result.put("planned_runs", FEW_SHOT_TASKS.size() * 2 * (SEEDS + 1));
        result.put("runs", runs);
        for (String task : FEW_SHOT_TASKS) {
            TaskPrompts.Prompt p = TaskPrompts.of(task).orElseThrow();
            int maxLength = Math.min(p.maxLength(), FEW_SHOT_LENGTH_SPAM);
            List<TextRecord> train = Datasets.load(task, Split.TRAIN), dev = Datasets.load(task, Split.DEV);
            for (String kind : List.of("prompt", "head")) {
                // runs written before the count was taken ahead of removing the adapter recorded 0 (or the head alone)
                long count = trainableParams(base, tok, task, kind, p, maxLength, train);
                for (Object o : runs) {
                    @SuppressWarnings("unchecked") Map<String, Object> r = (Map<String, Object>) o;
                    if (task.equals(r.get("task")) && kind.equals(r.get("classifier"))) r.put("trainable_params", count);
                }
            }
            for (int seed = 1; seed <= SEEDS + 1; seed++) {
                for (String kind : List.of("prompt", "head")) {
                    boolean full = seed > SEEDS;
                    String regime = full ? "full" : "few-shot";
                    int s = full ? 1 : seed;
                    if (done.contains(runKey(task, regime, kind, s))) continue;
                    TrainingConfig cfg = full
                            ? TrainingConfig.defaults().withLearningRate(5e-4).withBatchSize(16, 1).withEpochs(task.equals("spam") ? 1 : 3)
                                    .withWarmup(20, io.peft4j.core.train.Schedule.LINEAR).withSeed(1)
                            // 32 examples: 15 epochs of 4 steps of 8, no dev during training (nothing is tuned on it)
                            : TrainingConfig.defaults().withLearningRate(1e-3).withBatchSize(8, 1).withEpochs(15).withSeed(seed);
                    runs.add(run(base, tok, task, kind, regime, s, p, maxLength, cfg, full ? train : Sampling.kShot(train, SHOTS, seed), dev));
                    stamp(result, runs.size(), previousSeconds + (System.nanoTime() - t0) / 1e9);
                    write(out, "few-shot", result);
                }
            }
        }
        stamp(result, runs.size(), previousSeconds + (System.nanoTime() - t0) / 1e9);
        return result;
    }

    /** The trainable parameters of one few-shot classifier (the LoRA adapter, plus the head for {@code "head"}), built untrained. */
    private static long trainableParams(TransformerModel base, Tokenizer tok, String task, String kind, TaskPrompts.Prompt p, int maxLength, List<TextRecord> train) {
        var setup = setup(task, kind, p, maxLength, TrainingConfig.defaults());
        Verbalizer v = setup.verbalizer();
        PeftModel model = PeftModel.of(base, MODEL);
        ClassifierTraining.build(model, tok, setup, v != null ? v.labels() : Labels.of(train), 1);
        long n = model.parameterCount().trainable();
        for (String name : model.adapters().stream().map(a -> a.name()).toList()) model.remove(name);
        return n;
    }

    private static ClassifierTraining.Setup setup(String task, String kind, TaskPrompts.Prompt p, int maxLength, TrainingConfig cfg) {
        var method = new ClassifierTraining.Method.Adapter("lora", LoraConfig.defaults().withR(8).withAlpha(16));
        Template template = kind.equals("prompt") ? Template.parse(p.template()) : null;
        Verbalizer v = kind.equals("prompt") ? Verbalizer.parse(p.verbalizer()) : null;
        return new ClassifierTraining.Setup(MODEL, method, template, v, Datasets.defaultSpec(task), maxLength, Truncation.END, cfg);
    }

    private static String runKey(Map<?, ?> r) {
        return runKey(r.get("task"), r.get("regime"), r.get("classifier"), r.get("seed"));
    }

    private static String runKey(Object task, Object regime, Object classifier, Object seed) {
        return task + "|" + regime + "|" + classifier + "|" + seed;
    }

    /** Whether the section has all its runs, and the seconds spent on it over every process that added runs. */
    private static void stamp(Map<String, Object> result, int runs, double seconds) {
        result.put("complete", runs >= (int) result.get("planned_runs"));
        result.put("seconds", seconds);
    }

    private static Map<String, Object> run(TransformerModel base, Tokenizer tok, String task, String kind, String regime, int seed, TaskPrompts.Prompt p, int maxLength,
                                           TrainingConfig cfg, List<TextRecord> train, List<TextRecord> dev) {
        var setup = setup(task, kind, p, maxLength, cfg);
        var t = ClassifierTraining.train(base, tok, setup, train, List.of());
        ClassificationReport r = t.classifier().evaluate(dev, 16);
        long trainable = t.model().parameterCount().trainable();
        for (String name : t.model().adapters().stream().map(a -> a.name()).toList()) t.model().remove(name);   // the base is shared by every run
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task);
        m.put("classifier", kind);
        m.put("regime", regime);
        m.put("seed", seed);
        m.put("train_examples", train.size());
        m.put("steps", t.result().steps());
        m.put("final_loss", t.result().lastLoss());
        m.put("training_seconds", t.seconds());
        m.put("trainable_params", trainable);
        m.put("accuracy", r.accuracy());
        m.put("macro_f1", r.macroF1());
        LOG.info("{} {} {} seed {}: accuracy {} macro-F1 {} ({} s)", task, regime, kind, seed, r.accuracy(), r.macroF1(), Math.round(t.seconds()));
        return m;
    }

    // ------------------------------------------------------------------ probes

    static final List<String> PROBE_TASKS = List.of("spam", "opinion-words");

    static Map<String, Object> probes(Path out) {
        Path dir = ModelHub.resolve(MODEL);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        List<Object> tasks = new ArrayList<>();
        for (String task : PROBE_TASKS) {
            var spec = Datasets.defaultSpec(task);
            ProbeConfig cfg = ProbeConfig.defaults().withMaxLength(128).withCacheDirectory(ModelHub.cacheRoot().resolve("probe"));
            ProbeResult r = Probing.run(base, tok, MODEL, LabeledTexts.of(Datasets.load(task, Split.TRAIN), spec), LabeledTexts.of(Datasets.load(task, Split.DEV), spec),
                    cfg, ProbeListener.NONE);
            r.writePlot(out.resolve("probes-" + task + ".png"));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("task", task);
            m.put("result", Json.MAPPER.convertValue(r.toJson(), Map.class));
            tasks.add(m);
            LOG.info("probes {}:\n{}", task, r.markdown());
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", MODEL);
        o.put("tasks", tasks);
        return o;
    }

    // ------------------------------------------------------------------ instruction tuning

    /**
     * The leave-one-cluster-out instruction-tuning study ({@link Study}) on all six built-in tasks with their built-in
     * instructions and {@link StudyConfig#defaults()} (sized for BERT-base on 2 cores; docs/instruction-tuning.md). Each
     * finished run is kept in {@code OUT_DIR/instruct-runs/}, so an interrupted section continues where it stopped.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> instruct(Path out) {
        Path dir = ModelHub.resolve(MODEL);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        List<InstructTask> tasks = InstructTask.builtins(InstructTask.builtinNames(), Map.of());
        StudyResult r = Study.run(base, tok, MODEL, tasks, StudyConfig.defaults(), new StudyListener() {
            @Override
            public void onRun(String system, String heldOut, int index, int total) {
                LOG.info("instruct: run {} of {}: {}{}", index + 1, total, system, heldOut == null ? "" : ", " + heldOut + " held out");
            }
        }, out.resolve("instruct-runs"));
        LOG.info("instruct:\n{}", r.toMarkdown());
        return new LinkedHashMap<>(Json.MAPPER.convertValue(r.toJson(), Map.class));
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static JsonNode read(Path file) {
        return Files.isRegularFile(file) ? Json.read(file) : null;
    }
}
