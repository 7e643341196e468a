package io.peft4j.core.train;

import java.nio.file.Path;
import java.time.Duration;

/** Receives training progress; the CLI shows it as a progress bar. Every method has an empty default. */
public interface TrainingListener {
    /** After each optimizer step. */
    default void onStep(Progress p) {
    }

    /** After each evaluation on the dev set. */
    default void onEvaluation(long step, double metric, boolean best) {
    }

    default void onCheckpoint(long step, Path dir) {
    }

    default void onStop(TrainingResult result) {
    }

    /**
     * @param loss          this step's training loss (mean over its micro-batches)
     * @param gradNorm      the global gradient norm before clipping
     * @param stepsPerSecond over the run so far
     * @param eta           estimated time to the last step
     */
    record Progress(long step, long totalSteps, int epoch, double loss, double learningRate, double gradNorm, double stepsPerSecond,
                    Duration eta) {
    }
}
