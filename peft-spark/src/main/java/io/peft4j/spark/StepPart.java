package io.peft4j.spark;

import java.io.Serializable;

/**
 * What one partition returns for a step, and what the driver's tree reduction makes of them: the sum of its micro-batches'
 * gradients (each already scaled by 1/micro-batches of the step, as {@code StepRunner.microBatch} scales them), the sum of
 * their losses, and how many micro-batches it ran.
 */
record StepPart(FlatTensors grads, double lossSum, int microBatches) implements Serializable {
    /** The sum of two parts; reuses this part's arrays. */
    StepPart plus(StepPart o) {
        return new StepPart(grads.plus(o.grads), lossSum + o.lossSum, microBatches + o.microBatches);
    }
}
