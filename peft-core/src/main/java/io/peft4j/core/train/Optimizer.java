package io.peft4j.core.train;

import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * Updates the trainable tensors from their gradients, one step at a time, and keeps whatever state it needs (moments)
 * in a form a checkpoint can hold. {@link AdamW} is the one built in; a driver that combines gradients from several
 * machines steps the same optimizer as a single process would.
 */
public interface Optimizer {
    /** Allocates the state for {@code params} (and their gradients) before the first step. */
    void reserve(Map<String, Tensor> params);

    /** One update of every parameter that has a gradient, at learning rate {@code lr}, in place. */
    void step(Map<String, Tensor> params, double lr);

    /** Steps taken (including those restored by {@link #load}). */
    long stepCount();

    /** The state as named arrays, for checkpoints. */
    Map<String, INDArray> state();

    /** Restores {@link #state()} and the step count. */
    void load(Map<String, INDArray> state, long steps);
}
