package io.peft4j.instruct;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A task of the instruction-tuning study: labelled training and dev records and the task's instructions (their
 * templates reading the records' text fields).
 *
 * <pre>{@code
 * List<InstructTask> tasks = InstructTask.builtins(List.of("spam", "opinion-words", "afinn-sentiment"), Map.of());
 * tasks.get(1).cluster();    // "word-sentiment": held out together with afinn-sentiment
 * }</pre>
 *
 * @param name         the task's name
 * @param textFields   the records' text field(s): {@code {text}} reads the first, {@code {text_b}} the second
 * @param train        training records (the study draws its examples from them)
 * @param dev          dev records (the study scores on them)
 * @param instructions the instructions, reading {@code textFields}
 */
public record InstructTask(String name, List<String> textFields, List<TextRecord> train, List<TextRecord> dev, InstructionSet instructions) {
    public InstructTask {
        textFields = List.copyOf(textFields);
        train = List.copyOf(train);
        dev = List.copyOf(dev);
        if (train.isEmpty()) throw new PeftException("task '" + name + "' has no training records");
        if (dev.isEmpty()) throw new PeftException("task '" + name + "' has no dev records");
        if (!instructions.task().equals(name)) {
            throw PeftException.inFile(instructions.source(), "field 'task' is '" + instructions.task() + "', but it is given as the instructions of task '" + name + "'");
        }
        TreeSet<String> labels = new TreeSet<>(Labels.of(train));
        labels.addAll(Labels.of(dev));
        instructions.checkData(labels, textFields, train.get(0).source());
    }

    /**
     * The task of {@code train} and {@code dev} with {@code instructions}, their templates made to read {@code textFields};
     * a template reading a field the records lack is an error naming the instruction file and field.
     */
    public static InstructTask of(String name, List<String> textFields, List<TextRecord> train, List<TextRecord> dev, InstructionSet instructions) {
        InstructionSet bound = instructions.forFields(textFields);
        for (Instruction i : bound.instructions()) {
            try {
                i.template().requireFields(train.get(0).fields().keySet(), train.get(0).source());
            } catch (PeftException e) {
                throw PeftException.inFile(i.source(), e.getMessage());
            }
        }
        return new InstructTask(name, textFields, train, dev, bound);
    }

    /** The task's cluster ({@link InstructionSet#cluster()}). */
    public String cluster() {
        return instructions.cluster();
    }

    /** The task's labels. */
    public List<String> labels() {
        return instructions.labels();
    }

    /** The built-in tasks that have both a dataset and built-in instructions. */
    public static List<String> builtinNames() {
        List<String> data = Datasets.builtinNames();
        return Instructions.builtinTasks().stream().filter(data::contains).toList();
    }

    /**
     * The built-in datasets {@code names} (train and dev splits, their own text fields) with their built-in instructions,
     * or the ones in {@code instructions} for the tasks it has. An unknown name is an error listing the valid ones.
     */
    public static List<InstructTask> builtins(List<String> names, Map<String, InstructionSet> instructions) {
        List<String> valid = builtinNames();
        List<InstructTask> out = new ArrayList<>();
        for (String n : names) {
            if (!valid.contains(n)) throw new PeftException("unknown task '" + n + "' (tasks: " + String.join(", ", valid) + ")");
            if (out.stream().anyMatch(t -> t.name().equals(n))) throw new PeftException("task '" + n + "' is named twice");
            InstructionSet set = instructions.containsKey(n) ? instructions.get(n) : Instructions.builtin(n);
            List<String> fields = Datasets.builtin(n).spec().textFields();
            out.add(of(n, fields, Datasets.load(n, Split.TRAIN), Datasets.load(n, Split.DEV), set));
        }
        return out;
    }
}
