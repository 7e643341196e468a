package io.peft4j.core.train;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * One optimizer step's gradients: the step's examples cut into micro-batches of {@code batchSize}, each micro-batch's
 * loss back-propagated scaled by 1/micro-batches, so the trainable tensors' gradients are the step's mean. Dropout of
 * micro-batch {@code m} of step {@code s} is seeded from {@code (seed, s, m)} alone, so any process that runs micro-batch
 * {@code m} of step {@code s} computes the same gradient: the single-process {@link Trainer} runs them all, a
 * data-parallel driver hands them out and sums what comes back ({@link #microBatch}).
 *
 * @param <E> the example type
 */
public final class StepRunner<E> {
    private final PeftModel model;
    private final Objective<E> objective;
    private final int batchSize, accumulation;
    private final long seed;

    /** {@code accumulation} is the configured micro-batches per step (it enters the dropout seed). */
    public StepRunner(PeftModel model, Objective<E> objective, int batchSize, int accumulation, long seed) {
        if (batchSize < 1 || accumulation < 1) throw new IllegalArgumentException("batch size " + batchSize + " and accumulation " + accumulation + " must be positive");
        this.model = model;
        this.objective = objective;
        this.batchSize = batchSize;
        this.accumulation = accumulation;
        this.seed = seed;
    }

    public StepRunner(PeftModel model, Objective<E> objective, TrainingConfig cfg) {
        this(model, objective, cfg.batchSize(), cfg.accumulation(), cfg.seed());
    }

    /** The number of micro-batches {@code examples} examples make. */
    public int microBatches(int examples) {
        return (examples + batchSize - 1) / batchSize;
    }

    /** Micro-batch {@code mb} of a step's examples. */
    public List<E> part(List<E> stepExamples, int mb) {
        return stepExamples.subList(mb * batchSize, Math.min(stepExamples.size(), (mb + 1) * batchSize));
    }

    /**
     * Clears the gradients of {@code params}, then back-propagates every micro-batch of {@code stepExamples}; returns the
     * step's mean loss (a micro-batch with a non-finite loss adds no gradient, and the mean is then not finite).
     */
    public double gradients(Map<String, Tensor> params, List<E> stepExamples, long step) {
        params.values().forEach(Tensor::zeroGrad);
        int micros = microBatches(stepExamples.size());
        double lossSum = 0;
        for (int mb = 0; mb < micros; mb++) lossSum += microBatch(part(stepExamples, mb), step, mb, 1.0 / micros);
        return lossSum / micros;
    }

    /**
     * The loss of micro-batch {@code mb} of {@code step}, its gradient scaled by {@code scale} added to the trainable
     * tensors' gradients when the loss is finite.
     */
    public double microBatch(List<E> part, long step, int mb, double scale) {
        ForwardContext ctx = new ForwardContext(part.size(), null, true, seed * 1_000_003L + step * accumulation + mb);
        return Workspaces.run(() -> {
            Tensor loss = objective.loss(model, part, ctx);
            if (Double.isFinite(loss.value().getDouble(0))) Ops.scale(loss, scale).backward();
            return new INDArray[]{loss.value()};
        })[0].getDouble(0);
    }

    /** The global L2 norm of the gradients (parameters without one count as zero). */
    public static double gradNorm(Map<String, Tensor> params) {
        double s = 0;
        for (Tensor p : params.values()) {
            if (p.grad() == null) continue;
            double n = p.grad().norm2Number().doubleValue();
            s += n * n;
        }
        return Math.sqrt(s);
    }

    /**
     * Scales every gradient by {@code maxNorm / (norm + 1e-6)} when their global norm {@code norm} exceeds
     * {@code maxNorm} (as PyTorch's {@code clip_grad_norm_}); {@code maxNorm <= 0} clips nothing.
     */
    public static void clip(Map<String, Tensor> params, double norm, double maxNorm) {
        if (maxNorm <= 0 || norm <= maxNorm) return;
        double c = maxNorm / (norm + 1e-6);
        for (Tensor p : params.values()) if (p.grad() != null) p.grad().muli(c);
    }
}
