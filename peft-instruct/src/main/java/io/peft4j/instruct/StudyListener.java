package io.peft4j.instruct;

import io.peft4j.core.train.TrainingListener;

import java.util.List;

/** Follows a {@link Study}: its runs, their training steps, every score, and what each run trained on. */
public interface StudyListener {
    /** No-op listener. */
    StudyListener NONE = new StudyListener() {
    };

    /** Run {@code index} of {@code total} starts: {@code system} (base, prompt, prefix, hyper, supervised) with {@code heldOut} held out (null: none). */
    default void onRun(String system, String heldOut, int index, int total) {
    }

    /** After each optimizer step of the current run. */
    default void onStep(TrainingListener.Progress progress) {
    }

    /** Each training micro-batch of the current run, as the trainer saw it. */
    default void onTrainingBatch(String system, String heldOut, List<InstructExample> batch) {
    }

    /** Each score as it is computed. */
    default void onScore(StudyResult.Score score) {
    }

    /**
     * A scheme's run has trained and scored: {@code model} is its trained model (closed once this returns) and
     * {@code heldOut} the instructions of the held-out tasks it was scored under, e.g. to write the LoRA adapter the
     * hypernetwork generates from each ({@link io.peft4j.instruct.hyper.HyperLoraMethod.HyperLora#exportLora}). Not
     * called for runs taken from a journal.
     */
    default void onTrained(String system, String heldOutCluster, InstructionModel model, List<Instruction> heldOut) {
    }
}
