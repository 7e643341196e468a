package io.peft4j.prompt.task;

import io.peft4j.core.PeftException;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.soft.SoftTokensConfig;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A trained classifier as a self-contained directory: the adapter files in Hugging Face PEFT's layout (bottleneck
 * adapters in AdapterHub's; after full fine-tuning the whole model as a Hugging Face checkpoint with its tokenizer
 * files), the head ({@code head_config.json} + {@code head.safetensors}) or the template and verbalizer
 * ({@code template.json}, {@code verbalizer.json}), {@value TaskConfig#FILE} (labels, text fields, encoding,
 * training settings) and {@value #METRICS} (the dev report). {@link #load} needs nothing else but the base model,
 * which {@value TaskConfig#FILE} names.
 */
public final class ClassifierDirectory {
    /** The metrics file's name. */
    public static final String METRICS = "metrics.json";

    private ClassifierDirectory() {
    }

    /** A classifier read back, with what it runs on. */
    public record Loaded(PeftModel model, Tokenizer tokenizer, TextClassifier classifier, TaskConfig task) {
    }

    /**
     * Writes the directory whole or not at all (a temporary sibling, then a rename). {@code modelDir} is the base
     * model's directory: after full fine-tuning its tokenizer files are copied, so the directory is a model directory
     * of its own.
     */
    public static void write(Path dir, PeftModel model, TextClassifier classifier, TaskConfig task, Map<String, Object> metrics, Path modelDir) {
        AtomicFiles.writeDirectory(dir, tmp -> {
            model.writeFiles(tmp);
            if (classifier instanceof PromptClassifier p) p.writeFiles(tmp);
            if (model.isBaseTrainable() && modelDir != null) Tokenizers.copyFiles(modelDir, tmp);
            Json.write(tmp.resolve(TaskConfig.FILE), task.toJson());
            if (metrics != null) Json.write(tmp.resolve(METRICS), metrics);
        });
    }

    /**
     * Reads a directory {@link #write} wrote. {@code model} overrides the base model the directory names (a name
     * {@link ModelHub} resolves, or a directory); a fully fine-tuned directory is its own base. Faults name the
     * file and what is missing.
     */
    public static Loaded load(Path dir, String model) {
        TaskConfig task = readTask(dir);
        Path taskFile = dir.resolve(TaskConfig.FILE);
        boolean full = Files.isRegularFile(dir.resolve("config.json"));
        Path modelDir = full ? dir : ModelHub.resolve(model != null ? model : task.baseModel());
        PeftModel pm = PeftModel.of(Models.load(modelDir, DataType.FLOAT), task.baseModel());
        Tokenizer tok = Tokenizers.load(modelDir);
        if (hasRootAdapter(dir)) pm.load(dir, PeftModel.DEFAULT);               // the head saved beside it comes with it
        else if (Files.isRegularFile(dir.resolve(PeftModel.HEAD_CONFIG_FILE))) pm.loadHead(dir);
        TextClassifier clf;
        Path labelsFile;
        if (Files.isRegularFile(dir.resolve(Template.FILE))) {
            try {
                clf = PromptClassifier.read(pm, tok, dir, task.maxLength());
            } catch (PeftException e) {
                throw e.with("rendering to the max_length " + task.maxLength() + " of " + taskFile);     // either file may be at fault
            }
            labelsFile = dir.resolve(Files.isRegularFile(dir.resolve(Verbalizer.FILE)) ? Verbalizer.FILE : PeftModel.HEAD_CONFIG_FILE);
        } else {
            labelsFile = dir.resolve(PeftModel.HEAD_CONFIG_FILE);
            if (!(pm.head() instanceof ClassificationHead h) || h.isRegression()) {
                throw PeftException.inFile(pm.head() == null ? dir : labelsFile, pm.head() == null
                        ? "neither a head (" + PeftModel.HEAD_CONFIG_FILE + ") nor a template (" + Template.FILE + ")"
                        : "the head is not a classification head (head_type must be \"classification\" for a text classifier)");
            }
            clf = new FieldsChecked(new HeadClassifier(pm, encoder(tok, task, taskFile)), task.data().textFields(), taskFile);
        }
        checkLabels(clf.labels(), task, taskFile, labelsFile);
        return new Loaded(pm, tok, clf, task);
    }

    /**
     * Attaches the classifier in {@code dir} to {@code model}, a frozen base that other classifiers and adapters share,
     * under {@code name}: its adapter is installed under that name (used by rows tagged with it only), its head is read
     * as its own (the model's {@link PeftModel#head()} is neither read nor changed), a template's soft tokens become
     * adapter {@code name + "-soft"}. The base must be the one the classifier was trained on ({@code tokenizer} its
     * tokenizer); adapter weights of another shape are refused naming the file. A fully fine-tuned directory (its own
     * {@code config.json}) is a whole model and cannot share a base: refused. Nothing of a directory that fails to
     * attach stays installed. Faults name the file.
     */
    public static AttachedClassifier attach(Path dir, PeftModel model, Tokenizer tokenizer, String name) {
        TaskConfig task = readTask(dir);
        Path taskFile = dir.resolve(TaskConfig.FILE);
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            throw PeftException.inFile(dir, "a fully fine-tuned classifier (method '" + task.method() + "'): its config.json and weights are a whole model of "
                    + "their own, which cannot share a base model with other adapters; serve it as a base model instead");
        }
        String soft = name + "-soft";
        for (String n : List.of(name, soft)) {
            if (model.adapters().stream().anyMatch(a -> a.name().equals(n))) throw new IllegalArgumentException("an adapter named '" + n + "' is already installed");
        }
        List<String> installed = new java.util.ArrayList<>();
        try {
            if (hasRootAdapter(dir)) {
                model.loadAdapter(dir, name);
                installed.add(name);
            }
            Path headFile = dir.resolve(PeftModel.HEAD_CONFIG_FILE);
            io.peft4j.core.head.Head head = Files.isRegularFile(headFile) ? model.readHead(dir) : null;
            AttachedClassifier clf;
            Path labelsFile;
            List<String> labels;
            if (Files.isRegularFile(dir.resolve(Template.FILE))) {
                ClassificationHead own = head == null ? null : classificationHead(head, headFile);
                PromptClassifier p;
                try {
                    p = PromptClassifier.read(model, tokenizer, dir, task.maxLength(), soft, own);
                } catch (PeftException e) {
                    throw e.with("rendering to the max_length " + task.maxLength() + " of " + taskFile);
                } finally {
                    if (model.adapters().stream().anyMatch(a -> a.name().equals(soft))) installed.add(soft);
                }
                labelsFile = dir.resolve(Files.isRegularFile(dir.resolve(Verbalizer.FILE)) ? Verbalizer.FILE : PeftModel.HEAD_CONFIG_FILE);
                labels = p.labels();
                clf = new AttachedClassifier(model, name, dir, task, tokenizer, installed, p.head(), null, p);
            } else {
                if (head == null) throw PeftException.inFile(dir, "neither a head (" + PeftModel.HEAD_CONFIG_FILE + ") nor a template (" + Template.FILE + ")");
                ClassificationHead h = classificationHead(head, headFile);
                labelsFile = headFile;
                labels = h.labels();
                clf = new AttachedClassifier(model, name, dir, task, tokenizer, installed, h, encoder(tokenizer, task, taskFile), null);
            }
            checkLabels(labels, task, taskFile, labelsFile);
            return clf;
        } catch (RuntimeException e) {
            for (String n : installed) if (model.adapters().stream().anyMatch(a -> a.name().equals(n))) model.remove(n);
            throw e;
        }
    }

    private static TaskConfig readTask(Path dir) {
        if (!Files.isDirectory(dir)) throw PeftException.inFile(dir, "not a directory");
        Path taskFile = dir.resolve(TaskConfig.FILE);
        if (!Files.isRegularFile(taskFile)) {
            throw PeftException.inFile(dir, "not a trained classifier (no " + TaskConfig.FILE + "; 'peft train --output DIR' writes one)");
        }
        return TaskConfig.read(taskFile);
    }

    /** Whether {@code dir} holds an adapter at its root other than a template's soft tokens. */
    private static boolean hasRootAdapter(Path dir) {
        Path adapterConfig = dir.resolve(PeftModel.CONFIG_FILE);
        return Files.isRegularFile(adapterConfig) && !Json.read(adapterConfig).path("peft_type").asText().equals(SoftTokensConfig.PEFT_TYPE);
    }

    private static ClassificationHead classificationHead(io.peft4j.core.head.Head head, Path headFile) {
        if (!(head instanceof ClassificationHead h) || h.isRegression()) {
            throw PeftException.inFile(headFile, "the head is not a classification head (head_type must be \"classification\" for a text classifier)");
        }
        return h;
    }

    private static TextEncoder encoder(Tokenizer tok, TaskConfig task, Path taskFile) {
        try {
            return new TextEncoder(tok, task.data().textFields(), task.maxLength(), task.truncation());
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(taskFile, "field 'max_length': " + e.getMessage());
        }
    }

    /** Fails when the classifier's labels ({@code labels}, from {@code labelsFile}) are not the task's. */
    private static void checkLabels(List<String> labels, TaskConfig task, Path taskFile, Path labelsFile) {
        if (!labels.equals(task.labels())) {
            throw PeftException.inFile(taskFile, "labels " + task.labels() + " differ from " + labels + " in " + labelsFile);
        }
    }

    /**
     * A head classifier that first checks every record has the text fields {@value TaskConfig#FILE} names, so a record
     * without one is reported with that file (the fields were chosen when the classifier was trained).
     */
    private record FieldsChecked(TextClassifier inner, List<String> fields, Path taskFile) implements TextClassifier {
        @Override
        public List<String> labels() {
            return inner.labels();
        }

        @Override
        public double[][] logProbabilities(List<Map<String, String>> records, int batchSize) {
            for (int i = 0; i < records.size(); i++) {
                for (String f : fields) {
                    if (!records.get(i).containsKey(f)) {
                        throw new PeftException("input " + (i + 1) + " has no field '" + f + "' (its fields: " + records.get(i).keySet() + "); the classifier reads "
                                + fields + ", as " + taskFile + " says");
                    }
                }
            }
            return inner.logProbabilities(records, batchSize);
        }
    }

    /** The labels {@code clf} predicts for {@code records}, each with its class probabilities. */
    public static List<Map<String, Double>> probabilities(TextClassifier clf, List<Map<String, String>> records, int batchSize) {
        double[][] lp = clf.logProbabilities(records, batchSize);
        List<Map<String, Double>> out = new java.util.ArrayList<>();
        for (double[] row : lp) {
            Map<String, Double> m = new java.util.LinkedHashMap<>();
            for (int c = 0; c < row.length; c++) m.put(clf.labels().get(c), Math.exp(row[c]));
            out.add(m);
        }
        return out;
    }
}
