package io.peft4j.prompt.task;

import io.peft4j.core.PeftException;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Metric;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.AnswerMode;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Trains a text classifier on labelled records, the one recipe {@code peft train}, the demo and the result
 * scripts share: a method on a frozen base (or full fine-tuning, or nothing but the head / soft tokens) with
 * either a classification head on the text (BERT: CLS, GPT-2: the last token) or a template that feeds a
 * verbalizer (PET's loss over the class scores) or a head.
 *
 * <pre>{@code
 * var setup = new ClassifierTraining.Setup("bert-base-uncased", new ClassifierTraining.Method.Adapter("lora", LoraConfig.defaults()),
 *         Template.parse("{text} It was {mask}."), Verbalizer.parse("spam=spam;ham=normal"), spec, 128, Truncation.END,
 *         TrainingConfig.defaults().withEpochs(3));
 * ClassifierTraining.Trained t = ClassifierTraining.train(base, tokenizer, setup, train, dev);
 * t.save(Path.of("spam-lora"), modelDir);
 * }</pre>
 */
public final class ClassifierTraining {
    private ClassifierTraining() {
    }

    /** How the base is adapted: an adapter on the frozen base, full fine-tuning, or nothing (head or soft tokens alone). */
    public sealed interface Method {
        /** The name recorded in {@value TaskConfig#FILE}. */
        String name();

        /** A PEFT method's adapter, installed as {@value PeftModel#DEFAULT}. */
        record Adapter(String name, PeftConfig config) implements Method {
        }

        /** Every base weight trained. */
        record Full() implements Method {
            public String name() {
                return "full";
            }
        }

        /** The base frozen with no adapter: only the head (or the template's soft tokens) trains. */
        record None() implements Method {
            public String name() {
                return "none";
            }
        }
    }

    /**
     * What to train.
     *
     * @param baseName   the base model's name or directory, recorded in the saved files
     * @param method     how the base is adapted
     * @param template   a template to render records with, or null for the text field(s) as they are
     * @param verbalizer label words for the template's answer, or null for a classification head
     * @param data       how the records were read (text fields, label field and map)
     * @param maxLength  tokens per example, special tokens included
     * @param truncation which end of a long text loses tokens
     * @param training   optimizer, batch size, epochs, seed, ...
     */
    public record Setup(String baseName, Method method, Template template, Verbalizer verbalizer, DataSpec data, int maxLength,
                        Truncation truncation, TrainingConfig training) {
        public Setup {
            if (verbalizer != null && template == null) throw new IllegalArgumentException("a verbalizer needs a template");
            if (maxLength <= 0) throw new IllegalArgumentException("max length must be positive, not " + maxLength);
        }
    }

    /**
     * A trained classifier.
     *
     * @param model      the base with the trained adapter and head
     * @param classifier what classifies records
     * @param task       what the saved directory records
     * @param result     the training run
     * @param dev        the report on the dev records (null without them)
     * @param seconds    the training time
     */
    public record Trained(PeftModel model, TextClassifier classifier, TaskConfig task, TrainingResult result, ClassificationReport dev,
                          double seconds) {
        /**
         * Writes the classifier directory ({@link ClassifierDirectory#write}) with {@code metrics.json} holding the dev
         * report and the run's numbers; {@code modelDir} is the base model's directory, whose tokenizer files a
         * fully fine-tuned model needs beside it.
         */
        public void save(java.nio.file.Path dir, java.nio.file.Path modelDir) {
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("steps", result.steps());
            metrics.put("final_loss", result.lastLoss());
            metrics.put("training_seconds", seconds);
            metrics.put("trainable_params", model.parameterCount().trainable());
            metrics.put("all_params", model.parameterCount().all());
            if (dev != null) metrics.put("dev", dev.toJson());
            ClassifierDirectory.write(dir, model, classifier, task, metrics, modelDir);
        }
    }

    /** The labels a classifier of these records gets: the verbalizer's order, else the sorted labels of both sets. */
    static List<String> labels(Verbalizer verbalizer, List<TextRecord> train, List<TextRecord> dev, Object trainSource) {
        TreeSet<String> all = new TreeSet<>(Labels.of(train));
        if (!dev.isEmpty()) all.addAll(Labels.of(dev));
        if (verbalizer != null) {
            verbalizer.checkLabels(all, trainSource);
            return verbalizer.labels();
        }
        if (all.size() < 2) throw PeftException.inFile(trainSource, "the data has fewer than two distinct labels " + all);
        return new ArrayList<>(all);
    }

    /**
     * Builds the classifier for {@code setup} on {@code model} (installing the method, the head and soft tokens),
     * untrained; {@code labels} are the classes.
     */
    public static TextClassifier build(PeftModel model, Tokenizer tokenizer, Setup setup, List<String> labels, long seed) {
        TransformerModel base = model.base();
        if (setup.method() instanceof Method.Adapter a) model.add(PeftModel.DEFAULT, a.config(), seed);
        else if (setup.method() instanceof Method.Full) model.unfreezeBase();
        long d = base.config().hidden();
        if (setup.template() == null) {
            Pooling pooling = AnswerMode.of(base.config()) == AnswerMode.NEXT_TOKEN ? Pooling.LAST : Pooling.CLS;
            model.setHead(ClassificationHead.classification(pooling, labels, d, DataType.FLOAT, seed));
            return new HeadClassifier(model, new TextEncoder(tokenizer, setup.data().textFields(), setup.maxLength(), setup.truncation()));
        }
        Template t = forData(setup.template(), setup.data().textFields()).withTruncation(setup.truncation());
        var b = PromptClassifier.builder(model, tokenizer, t).maxLength(setup.maxLength()).seed(seed);
        if (setup.verbalizer() != null) {
            b.verbalizer(setup.verbalizer());
        } else {
            model.setHead(ClassificationHead.classification(Pooling.CLS, labels, d, DataType.FLOAT, seed));
            b.head(t.hasMask() ? PromptClassifier.HeadInput.MASK : PromptClassifier.HeadInput.SEQUENCE);
        }
        return b.build();
    }

    /**
     * {@code template} reading the data's text fields: {@code {text}} the first, {@code {text_b}} the second (as
     * OpenPrompt's text_a and text_b); a template with {@code {text_b}} needs two.
     */
    public static Template forData(Template template, List<String> textFields) {
        Template t = template;
        if (t.slots().contains("text")) t = t.withField("text", textFields.get(0));
        if (t.slots().contains("text_b")) {
            if (textFields.size() < 2) throw new PeftException(t.describe() + " has {text_b}, but the data has one text field " + textFields);
            t = t.withField("text_b", textFields.get(1));
        }
        return t;
    }

    /**
     * Trains on {@code train}, evaluating on {@code dev} (may be empty) after each epoch and at the end; the
     * {@code listeners} see every step.
     */
    public static Trained train(TransformerModel base, Tokenizer tokenizer, Setup setup, List<TextRecord> train, List<TextRecord> dev,
                                TrainingListener... listeners) {
        if (train.isEmpty()) throw new IllegalArgumentException("no training records");
        List<String> labels = labels(setup.verbalizer(), train, dev, train.get(0).source());
        PeftModel model = PeftModel.of(base, setup.baseName());
        long seed = setup.training().seed();
        TextClassifier clf = build(model, tokenizer, setup, labels, seed);
        int evalBatch = Math.max(setup.training().batchSize(), 16);
        long t0 = System.nanoTime();
        TrainingResult result = clf instanceof PromptClassifier p ? fitPrompt(model, p, setup, train, dev, evalBatch, listeners)
                : fitHead(model, (HeadClassifier) clf, labels, setup, train, dev, evalBatch, listeners);
        double seconds = (System.nanoTime() - t0) / 1e9;
        ClassificationReport report = dev.isEmpty() ? null : clf.evaluate(dev, evalBatch);
        Map<String, Object> training = new LinkedHashMap<>();
        var c = setup.training();
        training.put("learning_rate", c.learningRate());
        training.put("batch_size", c.batchSize());
        training.put("accumulation", c.accumulation());
        training.put("epochs", c.epochs());
        training.put("max_steps", c.maxSteps());
        training.put("warmup_steps", c.warmupSteps());
        training.put("schedule", c.schedule().name().toLowerCase(java.util.Locale.ROOT));
        training.put("seed", c.seed());
        training.put("examples", train.size());
        if (setup.template() != null) training.put("template", setup.template().text());
        TaskConfig task = new TaskConfig(setup.baseName(), labels, setup.data(), setup.maxLength(), setup.truncation(), setup.method().name(), training);
        return new Trained(model, clf, task, result, report, seconds);
    }

    private static TrainingResult fitHead(PeftModel model, HeadClassifier clf, List<String> labels, Setup setup, List<TextRecord> train,
                                          List<TextRecord> dev, int evalBatch, TrainingListener[] listeners) {
        List<Example.Classification> t = clf.encoder().classification(train, labels), d = clf.encoder().classification(dev, labels);
        Trainer<Example.Classification> trainer = new Trainer<>(model, Objectives.classification(0), setup.training());
        for (TrainingListener l : listeners) trainer.addListener(l);
        return trainer.fit(t, d.isEmpty() ? null : d, Metric.accuracy(evalBatch));
    }

    private static TrainingResult fitPrompt(PeftModel model, PromptClassifier clf, Setup setup, List<TextRecord> train, List<TextRecord> dev,
                                            int evalBatch, TrainingListener[] listeners) {
        List<PromptClassifier.Example> t = new ArrayList<>(), d = new ArrayList<>();
        for (TextRecord r : train) t.add(clf.example(r.fields(), r.label()));
        for (TextRecord r : dev) d.add(clf.example(r.fields(), r.label()));
        Trainer<PromptClassifier.Example> trainer = new Trainer<>(model, PromptClassifier.objective(), setup.training());
        for (TrainingListener l : listeners) trainer.addListener(l);
        return trainer.fit(t, d.isEmpty() ? null : d, PromptClassifier.accuracy(evalBatch));
    }
}
