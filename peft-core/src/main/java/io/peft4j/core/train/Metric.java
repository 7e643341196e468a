package io.peft4j.core.train;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;

import java.util.List;

/** A dev-set metric for evaluation and early stopping. */
public interface Metric<E> {
    double evaluate(PeftModel model, List<E> dev);

    /** True for accuracy-like metrics, false for losses. */
    boolean higherIsBetter();

    /** Accuracy of a classification head. */
    static Metric<Example.Classification> accuracy(int batchSize) {
        return new Metric<>() {
            public double evaluate(PeftModel model, List<Example.Classification> dev) {
                int[] pred = Objectives.predict(model, dev, batchSize);
                int ok = 0;
                for (int i = 0; i < pred.length; i++) if (pred[i] == dev.get(i).label()) ok++;
                return (double) ok / dev.size();
            }

            public boolean higherIsBetter() {
                return true;
            }
        };
    }

    /** The objective's mean loss over the dev set (no dropout), lower is better. */
    static <E> Metric<E> loss(Objective<E> objective, int batchSize) {
        return new Metric<>() {
            public double evaluate(PeftModel model, List<E> dev) {
                double sum = 0;
                int n = 0;
                for (int s = 0; s < dev.size(); s += batchSize) {
                    List<E> part = dev.subList(s, Math.min(dev.size(), s + batchSize));
                    sum += Workspaces.run(() -> new org.nd4j.linalg.api.ndarray.INDArray[]{
                            objective.loss(model, part, ForwardContext.inference(part.size())).value()})[0].getDouble(0) * part.size();
                    n += part.size();
                }
                return sum / n;
            }

            public boolean higherIsBetter() {
                return false;
            }
        };
    }
}
