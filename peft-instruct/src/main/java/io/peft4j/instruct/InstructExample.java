package io.peft4j.instruct;

import java.util.Map;

/**
 * One training example of instruction tuning: a task's record under one of the task's instructions.
 *
 * @param task        the task's name
 * @param instruction the instruction it is rendered with (or conditioned on)
 * @param record      the record's fields
 * @param label       the class index in the instruction's label order ({@code instruction.verbalizer().labels()})
 */
public record InstructExample(String task, Instruction instruction, Map<String, String> record, int label) {
    public InstructExample {
        int n = instruction.verbalizer().labels().size();
        if (label < 0 || label >= n) throw new IllegalArgumentException("label index " + label + " outside the instruction's " + n + " labels");
    }

    /** The example of {@code record} with label name {@code label}. */
    public static InstructExample of(String task, Instruction instruction, Map<String, String> record, String label) {
        int i = instruction.verbalizer().labels().indexOf(label);
        if (i < 0) throw new IllegalArgumentException("label '" + label + "' is not one of " + instruction.id() + "'s labels " + instruction.verbalizer().labels());
        return new InstructExample(task, instruction, record, i);
    }
}
