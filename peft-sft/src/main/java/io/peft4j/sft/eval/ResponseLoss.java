package io.peft4j.sft.eval;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loss and perplexity on held-out responses: the mean cross-entropy of each loss-masked token given the tokens before
 * it (the causal-LM loss the model trains on, {@link Objectives#causalLm}, in inference mode), over all masked tokens of
 * all examples, and {@code exp} of it.
 *
 * <pre>{@code
 * ResponseLoss.Result r = ResponseLoss.evaluate(model, encoder.encodeAll(heldOut).examples(), 16);
 * r.perplexity();
 * }</pre>
 */
public final class ResponseLoss {
    private ResponseLoss() {
    }

    /**
     * @param loss       mean cross-entropy per target token (nats)
     * @param perplexity {@code exp(loss)}
     * @param tokens     target tokens counted
     */
    public record Result(double loss, double perplexity, long tokens) {
    }

    /** Over all targets of {@code examples}, in batches of {@code batchSize}; examples without targets count nothing. */
    public static Result evaluate(PeftModel model, List<Example.Lm> examples, int batchSize) {
        double nll = 0;
        long tokens = 0;
        List<Example.Lm> withTargets = new ArrayList<>();
        for (Example.Lm e : examples) if (targets(e) > 0) withTargets.add(e);
        var objective = Objectives.causalLm(0);
        for (int s = 0; s < withTargets.size(); s += batchSize) {
            List<Example.Lm> part = withTargets.subList(s, Math.min(withTargets.size(), s + batchSize));
            long n = part.stream().mapToLong(ResponseLoss::targets).sum();
            double mean = Workspaces.run(() -> new INDArray[]{objective.loss(model, part, ForwardContext.inference(part.size())).value()})[0].getDouble(0);
            nll += mean * n;
            tokens += n;
        }
        double loss = tokens == 0 ? Double.NaN : nll / tokens;
        return new Result(loss, Math.exp(loss), tokens);
    }

    /**
     * {@link #evaluate}'s loss as the trainer's dev metric (lower is better), so that the dev loss that early stopping
     * watches is the one reported: per target token, not per example.
     */
    public static io.peft4j.core.train.Metric<Example.Lm> metric(int batchSize) {
        return new io.peft4j.core.train.Metric<>() {
            @Override
            public double evaluate(PeftModel model, List<Example.Lm> dev) {
                return ResponseLoss.evaluate(model, dev, batchSize).loss();
            }

            @Override
            public boolean higherIsBetter() {
                return false;
            }
        };
    }

    /** {@link #evaluate} per task ({@code tasks.get(i)} is example i's), tasks in order of first appearance. */
    public static Map<String, Result> byTask(PeftModel model, List<Example.Lm> examples, List<String> tasks, int batchSize) {
        if (tasks.size() != examples.size()) throw new IllegalArgumentException(tasks.size() + " tasks for " + examples.size() + " examples");
        Map<String, List<Example.Lm>> groups = new LinkedHashMap<>();
        for (int i = 0; i < examples.size(); i++) groups.computeIfAbsent(tasks.get(i), t -> new ArrayList<>()).add(examples.get(i));
        Map<String, Result> out = new LinkedHashMap<>();
        groups.forEach((t, es) -> out.put(t, evaluate(model, es, batchSize)));
        return out;
    }

    private static long targets(Example.Lm e) {
        long n = 0;
        for (int i = 1; i < e.lossMask().length; i++) n += e.lossMask()[i];
        return n;
    }
}
