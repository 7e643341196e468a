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
}
