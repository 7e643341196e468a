package io.peft4j.demo;

import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a {@link DemoMethod} runs with: the model (loaded on first use and shared by the methods of one process),
 * the task's training and dev records as the settings cut them, and where progress goes.
 *
 * <pre>{@code
 * DemoContext ctx = DemoContext.load(new Plan("bert-base-uncased", DemoTask.builtin("spam"), settings), DemoContext.Progress.NONE);
 * Row r = DemoMethods.byName("lora").run(ctx);
 * }</pre>
 */
public final class DemoContext {
    /** Receives a method's progress: {@code done} of {@code total} units of {@code stage} ("train", "evaluate", ...). */
    @FunctionalInterface
    public interface Progress {
        void update(String stage, long done, long total);

        /** Ignores everything. */
        Progress NONE = (stage, done, total) -> {
        };
    }

    /** Examples per forward pass when scoring. */
    public static final int EVAL_BATCH = 16;

    private final Plan plan;
    private final List<TextRecord> allTrain, train, dev;
    private final List<String> labels;
    private final Progress progress;
    private Path checkpoints;
    private Path modelDir;
    private TransformerModel model;
    private Tokenizer tokenizer;

    private DemoContext(Plan plan, List<TextRecord> allTrain, List<TextRecord> train, List<TextRecord> dev, Progress progress) {
        this.plan = plan;
        this.allTrain = List.copyOf(allTrain);
        this.train = List.copyOf(train);
        this.dev = List.copyOf(dev);
        TreeSet<String> all = new TreeSet<>(Labels.of(train));
        all.addAll(Labels.of(dev));
        this.labels = List.copyOf(all);
        this.progress = progress;
    }

    /** Reads the plan's task and cuts its records as the plan's settings say. */
    public static DemoContext load(Plan plan, Progress progress) {
        List<TextRecord> all = plan.task().loadTrain(), dev = plan.task().loadDev();
        return of(plan, all, dev, progress);
    }

    /** A context over records already read ({@code allTrain}, {@code allDev}: the whole splits). */
    static DemoContext of(Plan plan, List<TextRecord> allTrain, List<TextRecord> allDev, Progress progress) {
        DemoSettings s = plan.settings();
        return new DemoContext(plan, allTrain, s.trainSubset(allTrain), s.devSubset(allDev), progress);
    }

    public Plan plan() {
        return plan;
    }

    public DemoSettings settings() {
        return plan.settings();
    }

    public DemoTask task() {
        return plan.task();
    }

    /** The whole training split (the majority baseline counts its labels). */
    public List<TextRecord> allTrain() {
        return allTrain;
    }

    /** The training records every method sees. */
    public List<TextRecord> train() {
        return train;
    }

    /** The dev records every method is scored on. */
    public List<TextRecord> dev() {
        return dev;
    }

    /** The labels of the training and dev records, sorted: the classes of every head and probe. */
    public List<String> labels() {
        return labels;
    }

    /**
     * Where the running method keeps the checkpoints of its training so that a rerun continues it, or null for none
     * (then it trains from the start). {@link Demo} sets it per method with {@code --full}, whose methods train for hours.
     */
    public Path checkpoints() {
        return checkpoints;
    }

    /** Sets {@link #checkpoints()} for the method about to run; returns this context. */
    public DemoContext checkpoints(Path dir) {
        this.checkpoints = dir;
        return this;
    }

    /** Reports progress. */
    public void progress(String stage, long done, long total) {
        progress.update(stage, done, total);
    }

    /** The model's directory (resolved once). */
    public Path modelDir() {
        if (modelDir == null) modelDir = ModelHub.resolve(plan.model());
        return modelDir;
    }

    /** The frozen base, loaded once per context; a method must leave it as it found it (remove its adapters). */
    public TransformerModel model() {
        if (model == null) model = freshModel();
        return model;
    }

    /** A base of its own, for a method that changes the base's weights (full fine-tuning). */
    public TransformerModel freshModel() {
        return Models.load(modelDir(), DataType.FLOAT);
    }

    public Tokenizer tokenizer() {
        if (tokenizer == null) tokenizer = Tokenizers.load(modelDir());
        return tokenizer;
    }

    /** The classifier's report on the dev records, scored {@link #EVAL_BATCH} at a time with progress under stage "evaluate". */
    public ClassificationReport evaluate(TextClassifier classifier) {
        int[] gold = TextClassifier.goldIndices(dev, classifier.labels());
        int[] predicted = new int[dev.size()];
        int step = EVAL_BATCH * 4;
        progress("evaluate", 0, dev.size());
        for (int s = 0; s < dev.size(); s += step) {
            List<Map<String, String>> part = new ArrayList<>();
            for (TextRecord r : dev.subList(s, Math.min(dev.size(), s + step))) part.add(r.fields());
            int[] p = classifier.predict(part, EVAL_BATCH);
            System.arraycopy(p, 0, predicted, s, p.length);
            progress("evaluate", s + p.length, dev.size());
        }
        return ClassificationReport.of(classifier.labels(), gold, predicted);
    }

    /** The text of a record as one string: its text field, or its pair joined by a space. */
    public String joinedText(TextRecord r) {
        List<String> fields = plan.task().textFields();
        if (fields.size() == 1) return r.field(fields.get(0));
        return r.field(fields.get(0)) + " " + r.field(fields.get(1));
    }
}
