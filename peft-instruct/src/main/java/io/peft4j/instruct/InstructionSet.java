package io.peft4j.instruct;

import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A task's instructions, as one instruction file holds them ({@link Instructions} reads it).
 *
 * <pre>{@code
 * InstructionSet spam = Instructions.builtin("spam");
 * InstructionSet.Split split = spam.split(2);   // train on the first 2 sentence-style phrasings
 * split.train();                                // spam/sentence-1, spam/sentence-2
 * split.eval();                                 // spam/sentence-3, spam/name-1, spam/paragraph-1
 * }</pre>
 *
 * @param task         the task (a built-in dataset's name, or the name a study gives the data)
 * @param cluster      the task cluster it belongs to: leave-one-cluster-out holds out a cluster's tasks together
 * @param labels       the task's labels: the keys of the file's {@code label_words}
 * @param instructions every instruction, in file order
 * @param source       the file, for messages
 */
public record InstructionSet(String task, String cluster, List<String> labels, List<Instruction> instructions, Object source) {
    public InstructionSet {
        labels = List.copyOf(labels);
        instructions = List.copyOf(instructions);
    }

    /** The instructions a study trains on and the ones it tests on. */
    public record Split(List<Instruction> train, List<Instruction> eval) {
        public Split {
            train = List.copyOf(train);
            eval = List.copyOf(eval);
        }
    }

    /** The instructions of {@code form}, in file order. */
    public List<Instruction> of(Form form) {
        return instructions.stream().filter(i -> i.form() == form).toList();
    }

    /**
     * Instructions held out as tasks are: the first {@code trainSentences} sentence-style instructions (file order) are
     * for training, every other instruction (the remaining phrasings and the other forms) for testing. A file with
     * too few sentence-style instructions, or none left to test on, is an error naming it.
     */
    public Split split(int trainSentences) {
        if (trainSentences < 1) throw new IllegalArgumentException("train on at least one instruction per task, not " + trainSentences);
        List<Instruction> sentences = of(Form.SENTENCE);
        if (sentences.size() < trainSentences) {
            throw PeftException.inFile(source, "task '" + task + "' has " + sentences.size() + " sentence-style instruction" + (sentences.size() == 1 ? "" : "s")
                    + ", and " + trainSentences + " are to be trained on");
        }
        List<Instruction> train = sentences.subList(0, trainSentences), eval = new ArrayList<>();
        for (Instruction i : instructions) if (!train.contains(i)) eval.add(i);
        if (eval.isEmpty()) throw PeftException.inFile(source, "task '" + task + "': every instruction is trained on, none is left to test on");
        return new Split(train, eval);
    }

    /**
     * Checks the set against a data set: its labels must be exactly the data's (a label without words, or words for
     * a label the data never has, is an error naming the file and field), the data must have two labels or more, and
     * a template with {@code {text_b}} needs two text fields. {@code data} names the data in messages.
     */
    public void checkData(Collection<String> dataLabels, List<String> textFields, Object data) {
        Set<String> have = new TreeSet<>(dataLabels);
        if (have.size() < 2) throw PeftException.inFile(data, "task '" + task + "' has one class " + have + ": classification needs at least two");
        for (String l : have) {
            if (!labels.contains(l)) {
                throw PeftException.inFile(source, "field 'label_words' has no words for label '" + l + "' of the data " + data + " (its labels: " + labels + ")");
            }
        }
        for (String l : labels) {
            if (!have.contains(l)) {
                throw PeftException.inFile(source, "field 'label_words' names label '" + l + "', which the data " + data + " does not have (its labels: " + have + ")");
            }
        }
        for (Instruction i : instructions) {
            if (i.template().slots().contains("text_b") && textFields.size() < 2) {
                throw PeftException.inFile(i.source(), "template '" + i.template().text() + "' has {text_b}, but the data " + data + " has one text field " + textFields);
            }
        }
    }

    /**
     * Tokenizes every instruction's label words: a word the tokenizer does not know ({@code [UNK]}) is an error naming
     * the file and field.
     */
    public void checkTokenizer(Tokenizer tokenizer) {
        for (Instruction i : instructions) {
            try {
                i.verbalizer().bind(tokenizer);
            } catch (PeftException e) {
                throw PeftException.inFile(i.source(), "label_words: " + e.getMessage());
            }
        }
    }

    /** This set with every instruction reading the data's text fields ({@link Instruction#forFields}). */
    public InstructionSet forFields(List<String> textFields) {
        return new InstructionSet(task, cluster, labels, instructions.stream().map(i -> i.forFields(textFields)).toList(), source);
    }
}
