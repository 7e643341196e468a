package io.peft4j.demo;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.ParameterCount;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.io.Json;
import io.peft4j.core.train.Checkpoints;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.probe.FeatureExtractor;
import io.peft4j.probe.Features;
import io.peft4j.probe.LabeledFeatures;
import io.peft4j.probe.LabeledTexts;
import io.peft4j.probe.LayerScore;
import io.peft4j.probe.LinearProbe;
import io.peft4j.probe.ProbeConfig;
import io.peft4j.probe.ProbeResult;
import io.peft4j.probe.Probing;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.prompt.verbalizer.Verbalizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The demo's methods, in the order it runs them: the majority class, a bag-of-words baseline (TF-IDF + logistic
 * regression), zero-shot template + verbalizer, a linear probe on the best frozen layer, prompt tuning, P-tuning,
 * prefix tuning, a bottleneck adapter (Pfeiffer), LoRA, IA3 and full fine-tuning. Every trained method classifies
 * with the same classification head (BERT: on [CLS]; GPT-2: on the last token), trained with the method, on the
 * same examples, for the same steps; nothing is chosen on the dev records, which are only scored.
 *
 * <pre>{@code
 * List<DemoMethod> some = DemoMethods.parse("lora,majority");    // in run order: majority, lora
 * }</pre>
 */
public final class DemoMethods {
    private DemoMethods() {
    }

    /** Every method, in run order. */
    public static final List<DemoMethod> ALL = List.of(
            new Majority(), new BagOfWords(), new ZeroShot(), new Probe(),
            new Trained("prompt", "prompt tuning", (s, d) -> "the " + s.virtualTokens() + " input embeddings of a soft prompt, and the head",
                    (s, d) -> PromptTuningConfig.sampleVocab(s.virtualTokens())),
            new Trained("ptuning", "P-tuning", (s, d) -> "an MLP prompt encoder that makes " + s.virtualTokens() + " input embeddings, and the head",
                    (s, d) -> PTuningConfig.mlp(s.virtualTokens(), d)),
            new Trained("prefix", "prefix tuning", (s, d) -> s.virtualTokens() + " key and value vectors per layer, and the head",
                    (s, d) -> PrefixTuningConfig.of(s.virtualTokens())),
            new Trained("adapter", "adapter (Pfeiffer)", (s, d) -> "a bottleneck adapter (reduction 16) after each feed-forward block, and the head",
                    (s, d) -> BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER)),
            new Trained("lora", "LoRA", (s, d) -> "rank-8 updates of the query and value projections (alpha 16), and the head",
                    (s, d) -> LoraConfig.defaults().withR(8).withAlpha(16)),
            new Trained("ia3", "IA3", (s, d) -> "vectors scaling the keys, values and feed-forward inputs, and the head",
                    (s, d) -> Ia3Config.defaults()),
            new Trained("full", "full fine-tuning", (s, d) -> "every weight of the model, and the head", null));

    /** The method called {@code name}; a {@link PeftException} listing the names when there is none. */
    public static DemoMethod byName(String name) {
        for (DemoMethod m : ALL) if (m.name().equals(name)) return m;
        throw new PeftException("--methods: '" + name + "' is not a method (" + String.join(", ", names()) + ")");
    }

    /** The methods' names, in run order. */
    public static List<String> names() {
        return ALL.stream().map(DemoMethod::name).toList();
    }

    /** The methods a comma-separated list names, in run order (not the list's); blank names are skipped, a repeat is an error. */
    public static List<DemoMethod> parse(String csv) {
        List<String> asked = Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        if (asked.isEmpty()) throw new PeftException("--methods: no method named (" + String.join(", ", names()) + ")");
        for (String n : asked) {
            byName(n);
            if (asked.indexOf(n) != asked.lastIndexOf(n)) throw new PeftException("--methods: '" + n + "' is named twice");
        }
        return ALL.stream().filter(m -> asked.contains(m.name())).toList();
    }

    private static Row row(DemoMethod m, DemoContext ctx, long trainable, long all, ClassificationReport r, double trainSeconds, long t0,
                           Map<String, Object> details) {
        Map<String, Object> d = new LinkedHashMap<>(details);
        d.put("dev_report", r.toJson());
        return new Row(m.name(), m.trains(ctx.settings()), trainable, all, r.accuracy(), r.macroF1(), trainSeconds, (System.nanoTime() - t0) / 1e9,
                null, d, "");
    }

    private static int[] indices(List<TextRecord> records, List<String> labels) {
        return TextClassifier.goldIndices(records, labels);
    }

    // ------------------------------------------------------------------ baselines

    /** Always the most frequent label of the whole training split (the first in sorted order on a tie). */
    static final class Majority implements DemoMethod {
        public String name() {
            return "majority";
        }

        public String title() {
            return "majority class";
        }

        public String trains(DemoSettings s) {
            return "nothing: always the training split's most frequent label";
        }

        public boolean usesModel() {
            return false;
        }

        public Row run(DemoContext ctx) {
            long t0 = System.nanoTime();
            String top = Labels.mostFrequent(ctx.allTrain());
            List<String> labels = ctx.labels();
            int[] gold = indices(ctx.dev(), labels), pred = new int[gold.length];
            Arrays.fill(pred, labels.indexOf(top));
            ctx.progress("evaluate", gold.length, gold.length);
            return row(this, ctx, 0, 0, ClassificationReport.of(labels, gold, pred), 0, t0, Map.of("label", top));
        }
    }

    /**
     * TF-IDF word features ({@link TfIdf}, the most frequent {@link DemoSettings#tfidfFeatures()} words of the training
     * texts, the text fields joined by a space, not cut to the model's length) and an L2-regularised softmax regression
     * fitted to convergence by L-BFGS with {@code λ = 1/n}: scikit-learn's {@code LogisticRegression(C=1)}
     * objective divided by n (for two classes a softmax over two weight vectors, whose L2 term on their difference is
     * half of the binomial's).
     */
    static final class BagOfWords implements DemoMethod {
        public String name() {
            return "tfidf";
        }

        public String title() {
            return "TF-IDF + LR";
        }

        public String trains(DemoSettings s) {
            return "a logistic regression on TF-IDF word features (no model)";
        }

        public boolean usesModel() {
            return false;
        }

        public Row run(DemoContext ctx) {
            long t0 = System.nanoTime();
            List<String> labels = ctx.labels();
            List<String> docs = ctx.train().stream().map(ctx::joinedText).toList();
            TfIdf v = TfIdf.fit(docs, ctx.settings().tfidfFeatures());
            int n = docs.size(), k = labels.size();
            LinearProbe lr = fit(v.transform(docs), n, v.size(), indices(ctx.train(), labels), k);
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            List<String> devDocs = ctx.dev().stream().map(ctx::joinedText).toList();
            int[] pred = lr.predict(v.transform(devDocs), devDocs.size());
            ctx.progress("evaluate", devDocs.size(), devDocs.size());
            ClassificationReport r = ClassificationReport.of(labels, indices(ctx.dev(), labels), pred);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("vocabulary", v.size());
            d.put("l2", 1.0 / n);
            d.put("iterations", lr.iterations());
            return row(this, ctx, (long) (v.size() + 1) * k, 0, r, trainSeconds, t0, d);
        }

        /** Softmax regression with λ = 1/n on unstandardized features, to convergence. */
        static LinearProbe fit(float[] x, int n, int dim, int[] y, int classes) {
            return LinearProbe.fit(new LabeledFeatures(x, n, dim, y), null, classes, new LinearProbe.Config(1.0 / n, 1000, 1, 1e-5, false));
        }
    }

    // ------------------------------------------------------------------ the frozen model as it is

    /** The task's template and label words scored by the frozen masked LM, uncalibrated. */
    static final class ZeroShot implements DemoMethod {
        public String name() {
            return "zero-shot";
        }

        public String title() {
            return "zero-shot";
        }

        public String trains(DemoSettings s) {
            return "nothing: a template and label words on the frozen model";
        }

        public boolean usesModel() {
            return true;
        }

        public Row run(DemoContext ctx) {
            long t0 = System.nanoTime();
            DemoTask task = ctx.task();
            if (!task.hasPrompt()) throw new PeftException("task '" + task.name() + "' has no zero-shot prompt: give --template and --verbalizer");
            Template template = task.parsedTemplate();
            Verbalizer verbalizer = task.parsedVerbalizer();
            verbalizer.checkLabels(ctx.labels(), task.train());
            TransformerModel base = ctx.model();
            int length = Math.min(ctx.settings().maxLength() + DemoSettings.PROMPT_ROOM, base.config().maxPositions());
            var setup = new ClassifierTraining.Setup(ctx.plan().model(), new ClassifierTraining.Method.None(), template, verbalizer, task.spec(), length,
                    ctx.settings().truncation(), TrainingConfig.defaults());
            PeftModel model = PeftModel.of(base, ctx.plan().model());
            TextClassifier clf = ClassifierTraining.build(model, ctx.tokenizer(), setup, verbalizer.labels(), ctx.settings().seed());
            ClassificationReport r = ctx.evaluate(clf);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("template", task.template());
            d.put("verbalizer", task.verbalizer());
            d.put("max_length", length);
            return row(this, ctx, 0, model.parameterCount().all(), r, 0, t0, d);
        }
    }

    /**
     * A linear probe on the frozen model's best layer: pooled features of every hidden state (BERT: [CLS] and the mean;
     * GPT-2: the last token and the mean) of the training records; the layer, pooling and L2 strength chosen on a
     * stratified 20% of them held out ({@link Probing#probe}); the probe refitted on all of them; scored on dev.
     */
    static final class Probe implements DemoMethod {
        public String name() {
            return "probe";
        }

        public String title() {
            return "linear probe";
        }

        public String trains(DemoSettings s) {
            return "a softmax regression on one frozen layer's pooled features (layer chosen on held-out training examples)";
        }

        public boolean usesModel() {
            return true;
        }

        public Row run(DemoContext ctx) {
            long t0 = System.nanoTime();
            TransformerModel base = ctx.model();
            List<String> labels = ctx.labels();
            var spec = ctx.task().spec();
            List<Pooling> poolings = ProbeConfig.defaultPoolings(base.config());
            FeatureExtractor extractor = new FeatureExtractor(base, FeatureExtractor.allLayers(base), poolings, DemoContext.EVAL_BATCH);
            int length = ctx.settings().maxLength();
            LabeledTexts tr = LabeledTexts.of(ctx.train(), spec), dv = LabeledTexts.of(ctx.dev(), spec);
            Features train = extractor.extract(FeatureExtractor.encode(ctx.tokenizer(), tr.texts(), tr.pairs(), length),
                    (stage, done, total) -> ctx.progress("extract features", done, total));
            int[] y = indices(ctx.train(), labels);
            ProbeConfig cfg = ProbeConfig.defaults().withPoolings(poolings).withMaxLength(length).withHeldOut(0.2, ctx.settings().seed());
            ProbeResult selection = Probing.probe(train, y, null, null, labels, cfg, (stage, done, total) -> ctx.progress("choose the layer", done, total));
            LayerScore best = selection.best(LayerScore.LINEAR);
            LinearProbe probe = LinearProbe.fit(new LabeledFeatures(train.matrix(best.layer(), best.pooling()), train.rows(), train.dim(), y), null,
                    labels.size(), cfg.linear().withL2(best.l2()));
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            Features dev = new FeatureExtractor(base, List.of(best.layer()), List.of(best.pooling()), DemoContext.EVAL_BATCH)
                    .extract(FeatureExtractor.encode(ctx.tokenizer(), dv.texts(), dv.pairs(), length), (stage, done, total) -> ctx.progress("evaluate", done, total));
            int[] pred = probe.predict(dev.matrix(best.layer(), best.pooling()), dev.rows());
            ClassificationReport r = ClassificationReport.of(labels, indices(ctx.dev(), labels), pred);
            long trainable = (long) (train.dim() + 1) * labels.size();
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("layer", best.layer());
            d.put("pooling", best.pooling().name().toLowerCase(Locale.ROOT));
            d.put("l2", best.l2());
            d.put("held_out_accuracy", best.accuracy());
            return row(this, ctx, trainable, base.parameterCount() + trainable, r, trainSeconds, t0, d);
        }
    }

    // ------------------------------------------------------------------ adaptation

    /**
     * A PEFT method (or full fine-tuning: {@code config} null) with a classification head, trained with the settings'
     * steps (or epochs), batch size, warm-up and the method's learning rate; scored on dev after training.
     */
    static final class Trained implements DemoMethod {
        private final String name, title;
        private final BiFunction<DemoSettings, Integer, String> trains;
        private final BiFunction<DemoSettings, Integer, io.peft4j.core.peft.PeftConfig> config;

        Trained(String name, String title, BiFunction<DemoSettings, Integer, String> trains,
                BiFunction<DemoSettings, Integer, io.peft4j.core.peft.PeftConfig> config) {
            this.name = name;
            this.title = title;
            this.trains = trains;
            this.config = config;
        }

        public String name() {
            return name;
        }

        public String title() {
            return title;
        }

        public String trains(DemoSettings s) {
            return trains.apply(s, 0);
        }

        public boolean usesModel() {
            return true;
        }

        public Row run(DemoContext ctx) {
            long t0 = System.nanoTime();
            DemoSettings s = ctx.settings();
            boolean full = config == null;
            TransformerModel base = full ? ctx.freshModel() : ctx.model();
            ClassifierTraining.Method method = full ? new ClassifierTraining.Method.Full()
                    : new ClassifierTraining.Method.Adapter(name, config.apply(s, base.config().hidden()));
            long steps = s.stepsFor(ctx.train().size());
            TrainingConfig.Builder cfg = TrainingConfig.builder().learningRate(s.learningRate(name)).batchSize(s.batchSize(), 1)
                    .epochs(Math.max(1, s.epochs())).maxSteps(s.steps()).warmup((int) Math.round(s.warmupFraction() * steps), Schedule.LINEAR)
                    .seed(s.seed());
            Path ck = ctx.checkpoints();
            Resumed resumed = Resumed.read(ck);
            if (ck != null) cfg.checkpoints(ck, (int) Math.max(1, (steps + 19) / 20), true);   // every twentieth of the steps
            var setup = new ClassifierTraining.Setup(ctx.plan().model(), method, null, null, ctx.task().spec(), s.maxLength(), s.truncation(), cfg.build());
            long started = System.nanoTime();
            TrainingListener bar = new TrainingListener() {
                @Override
                public void onStep(TrainingListener.Progress p) {
                    ctx.progress("train", p.step(), p.totalSteps());
                }

                @Override
                public void onCheckpoint(long step, Path dir) {
                    Resumed.write(ck, step, resumed.seconds() + (System.nanoTime() - started) / 1e9);
                }
            };
            ClassifierTraining.Trained t = ClassifierTraining.train(base, ctx.tokenizer(), setup, ctx.train(), List.of(), bar);
            try {
                ClassificationReport r = ctx.evaluate(t.classifier());
                ParameterCount count = t.model().parameterCount();
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("learning_rate", s.learningRate(name));
                d.put("steps", t.result().steps());
                d.put("final_loss", t.result().lastLoss());
                d.put("stopped", t.result().reason().name().toLowerCase(Locale.ROOT));
                if (resumed.step() > 0) d.put("resumed_at_step", resumed.step());
                long since = t0 - Math.round(resumed.seconds() * 1e9);     // the method's time includes its training before an interruption
                return row(this, ctx, count.trainable(), count.all(), r, resumed.seconds() + t.seconds(), since, d);
            } finally {
                // the base is shared by the methods of this process: take the adapter off it
                for (String a : new ArrayList<>(t.model().adapters().stream().map(io.peft4j.core.peft.Adapter::name).toList())) t.model().remove(a);
            }
        }
    }

    /**
     * How far an interrupted training got: the step of the last checkpoint in a method's checkpoint directory and the
     * training seconds spent up to it (from {@value #FILE} beside it; 0 when unknown). A rerun reports the training time
     * of the whole run, the parts before an interruption included.
     */
    record Resumed(long step, double seconds) {
        static final String FILE = "training-time.json";

        static Resumed read(Path dir) {
            Path last = dir == null ? null : dir.resolve(Trainer.LAST);
            if (last == null || !Files.isRegularFile(last.resolve(Checkpoints.STATE))) return new Resumed(0, 0);
            long step = Checkpoints.readState(last).path("step").asLong();
            Path f = dir.resolve(FILE);
            double seconds = Files.isRegularFile(f) ? Json.read(f).path("seconds").asDouble() : 0;
            return new Resumed(step, seconds);
        }

        static void write(Path dir, long step, double seconds) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", step);
            m.put("seconds", seconds);
            Json.write(dir.resolve(FILE), m);
        }
    }
}
