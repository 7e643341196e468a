package io.peft4j.demo;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;

import io.peft4j.prompt.PromptArgument;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;

import java.nio.file.Path;
import java.util.List;

/**
 * The labelled data a demo compares the methods on: a built-in dataset's train and dev splits, or two files (JSON
 * lines, CSV, TSV) read with the same fields; and the zero-shot prompt, when the task has one (a built-in task's
 * from {@link TaskPrompts}, or given with the files).
 *
 * <pre>{@code
 * DemoTask spam = DemoTask.builtin("spam");
 * DemoTask mine = DemoTask.files(Path.of("train.jsonl"), Path.of("dev.jsonl"), List.of("text"), "label",
 *         "{text} It was {mask}.", "positive=great;negative=terrible");
 * }</pre>
 *
 * @param name       the task's name in reports (the built-in name, or the training file's name)
 * @param train      the training data: a built-in name or a file path
 * @param dev        the dev data: a built-in name with {@code :dev}, or a file path
 * @param textFields one text field, or two for a text pair
 * @param labelField the label's field
 * @param template   the zero-shot template (its text, or a {@code template.json} file), or null when the task has none
 * @param verbalizer the zero-shot label words (as text, or a {@code verbalizer.json} file), or null when the task has none
 */
public record DemoTask(String name, String train, String dev, List<String> textFields, String labelField, String template, String verbalizer) {
    public DemoTask {
        textFields = List.copyOf(textFields);
        if ((template == null) != (verbalizer == null)) throw new PeftException("a zero-shot prompt needs both a template and a verbalizer");
    }

    /** Built-in dataset {@code name} ({@link Datasets#builtinNames()}): its train and dev splits, fields and prompt. */
    public static DemoTask builtin(String name) {
        List<String> names = Datasets.builtinNames();
        if (!names.contains(name)) {
            throw new PeftException("--task: '" + name + "' is not a built-in task (" + String.join(", ", names) + "); give your own data with --data FILE --dev FILE");
        }
        DataSpec spec = Datasets.builtin(name).spec();
        TaskPrompts.Prompt p = TaskPrompts.of(name).orElse(null);
        return new DemoTask(name, name, name + ":dev", spec.textFields(), spec.labelField(), p == null ? null : p.template(), p == null ? null : p.verbalizer());
    }

    /**
     * Two data files read alike: {@code textFields} (null: {@code text}) and {@code labelField} (null: {@code label});
     * a zero-shot prompt when {@code template} and {@code verbalizer} are given (else both null).
     */
    public static DemoTask files(Path train, Path dev, List<String> textFields, String labelField, String template, String verbalizer) {
        DataSpec d = DataSpec.defaults();
        String file = train.getFileName() == null ? train.toString() : train.getFileName().toString();
        String name = file.contains(".") ? file.substring(0, file.lastIndexOf('.')) : file;
        return new DemoTask(name, train.toString(), dev.toString(), textFields == null ? d.textFields() : textFields,
                labelField == null ? d.labelField() : labelField, template, verbalizer);
    }

    /** How the records are read. */
    public DataSpec spec() {
        return Datasets.defaultSpec(train).withTextFields(textFields.toArray(String[]::new)).withLabelField(labelField);
    }

    /** The training records. */
    public List<TextRecord> loadTrain() {
        return Datasets.load(train, Split.TRAIN, spec());
    }

    /** The dev records. */
    public List<TextRecord> loadDev() {
        return Datasets.load(dev, Split.DEV, spec());
    }

    /** The zero-shot template: read from its file when {@link #template} names a {@code .json} file, else parsed. */
    public Template parsedTemplate() {
        if (template == null) throw new PeftException("task '" + name + "' has no zero-shot prompt");
        return PromptArgument.isFile(template) ? Template.read(Path.of(template)) : Template.parse(template);
    }

    /** The zero-shot label words: read from its file when {@link #verbalizer} names a {@code .json} file, else parsed. */
    public Verbalizer parsedVerbalizer() {
        if (verbalizer == null) throw new PeftException("task '" + name + "' has no zero-shot prompt");
        return PromptArgument.isFile(verbalizer) ? Verbalizer.read(Path.of(verbalizer)) : Verbalizer.parse(verbalizer);
    }

    /** Whether the task has a zero-shot prompt. */
    public boolean hasPrompt() {
        return template != null;
    }
}
