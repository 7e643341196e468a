package io.peft4j.core.train;

import java.util.List;

/**
 * How a run ended.
 *
 * @param steps       optimizer steps taken (including those before a resume)
 * @param losses      training loss per step of this run
 * @param bestMetric  best dev metric (NaN without evaluation)
 * @param bestStep    the step it was reached at
 * @param reason      why training stopped
 */
public record TrainingResult(long steps, List<Double> losses, double bestMetric, long bestStep, StopReason reason) {
    public enum StopReason {
        /** Ran all epochs / steps. */
        COMPLETED,
        /** The dev metric did not improve for {@code patience} evaluations. */
        EARLY_STOPPED,
        /** A loss or gradient was NaN or infinite; the parameters are those of the last good step. */
        NON_FINITE_LOSS
    }

    public double lastLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
    }
}
