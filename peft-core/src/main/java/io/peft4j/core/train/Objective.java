package io.peft4j.core.train;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;

import java.util.List;

/** A training loss over a micro-batch of examples; see {@link Objectives} for the built-in ones. */
@FunctionalInterface
public interface Objective<E> {
    /** The scalar loss (mean over the batch's counted targets). */
    Tensor loss(PeftModel model, List<E> batch, ForwardContext ctx);
}
