package io.peft4j.spark;

import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objective;
import io.peft4j.core.train.Objectives;

import java.io.Serializable;

/**
 * Makes the training objective where it runs: objectives are plain functions of the model and a micro-batch, made on
 * each executor from this serializable factory (a lambda such as {@code () -> Objectives.causalLm(0)} is one when what it
 * captures is serializable).
 *
 * @param <E> the example type
 */
@FunctionalInterface
public interface ObjectiveFactory<E> extends Serializable {
    Objective<E> create();

    /** {@link Objectives#causalLm}. */
    static ObjectiveFactory<Example.Lm> causalLm(double labelSmoothing) {
        return () -> Objectives.causalLm(labelSmoothing);
    }

    /** {@link Objectives#classification}. */
    static ObjectiveFactory<Example.Classification> classification(double labelSmoothing) {
        return () -> Objectives.classification(labelSmoothing);
    }

    /** {@link Objectives#regression}. */
    static ObjectiveFactory<Example.Regression> regression() {
        return Objectives::regression;
    }

    /** {@link Objectives#tokenClassification}. */
    static ObjectiveFactory<Example.Tokens> tokenClassification(double labelSmoothing) {
        return () -> Objectives.tokenClassification(labelSmoothing);
    }

    /** {@link Objectives#maskedLm}. */
    static ObjectiveFactory<Example.Cloze> maskedLm(double labelSmoothing) {
        return () -> Objectives.maskedLm(labelSmoothing);
    }
}
