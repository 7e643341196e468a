package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The training loop: shuffled micro-batches, gradient accumulation, global-norm clipping, AdamW on the
 * trainable tensors only, warm-up and decay, periodic evaluation with early stopping, atomic checkpoints
 * and exact resume, and a stop on a non-finite loss. It composes parts a distributed driver reuses: an
 * {@link ExampleSource} (a list in memory or a stream), a {@link StepRunner} (a step's examples to gradients),
 * an {@link Optimizer} and {@link Checkpoints}.
 *
 * <p>Every random choice derives from the config's seed and the step: the data order of epoch e from
 * {@code (seed, e)}, dropout of micro-batch m of step s from {@code (seed, s, m)}. Two runs with one seed
 * are identical, and a run resumed from a checkpoint continues exactly as the uninterrupted run.
 */
public final class Trainer<E> {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    /**
     * The subdirectories of a {@linkplain TrainingConfig#checkpointDir() checkpoint directory}: the last checkpoint,
     * which {@linkplain TrainingConfig#resume() resume} continues from, and the best parameters by the dev metric.
     */
    public static final String LAST = "last", BEST = "best";

    private final PeftModel model;
    private final TrainingConfig cfg;
    private final StepRunner<E> runner;
    private final List<TrainingListener> listeners = new ArrayList<>();

    public Trainer(PeftModel model, Objective<E> objective, TrainingConfig cfg) {
        this.model = model;
        this.cfg = cfg;
        this.runner = new StepRunner<>(model, objective, cfg);
    }

    public Trainer<E> addListener(TrainingListener l) {
        listeners.add(l);
        return this;
    }

    /** Trains on {@code train}, shuffled in memory each epoch; evaluates {@code metric} on {@code dev} when both are given. */
    public TrainingResult fit(List<E> train, List<E> dev, Metric<E> metric) {
        if (train.isEmpty()) throw new IllegalArgumentException("no training examples");
        return fit(ExampleSource.of(train, cfg.seed()), dev, metric);
    }

    /** Trains on the examples {@code train} gives (a list or a stream); evaluates {@code metric} on {@code dev} when both are given. */
    public TrainingResult fit(ExampleSource<E> train, List<E> dev, Metric<E> metric) {
        if (train.size() == 0) throw new IllegalArgumentException("no training examples");
        return fit(train.size(), new LocalSteps(train), dev, metric);
    }

    /**
     * Trains on {@code examples} examples whose step gradients {@code gradients} computes (a data-parallel driver's
     * gradients combined from several machines); everything else (clipping, the optimizer, the schedule, evaluation,
     * checkpoints, resume) is this loop's, so a driver whose gradients equal the single process's trains identically.
     */
    public TrainingResult fit(long examples, StepGradients gradients, List<E> dev, Metric<E> metric) {
        if (examples <= 0) throw new IllegalArgumentException("no training examples");
        Map<String, Tensor> params = model.trainableParameters();
        if (params.isEmpty()) throw new IllegalStateException("nothing to train: add an adapter, a head, or unfreeze the base");
        Run run = start(params, plan(examples));
        TrainingResult.StopReason reason = TrainingResult.StopReason.COMPLETED;
        while (run.state.step < run.plan.total()) {
            int epoch = run.plan.epoch(run.state.step);
            double loss = gradients.compute(params, run.state.step, run.plan);
            double norm = StepRunner.gradNorm(params);
            if (!finite(run, loss, norm)) {
                reason = TrainingResult.StopReason.NON_FINITE_LOSS;
                break;
            }
            double lr = optimizerStep(run, norm);
            TrainingListener.Progress progress = completeStep(run, epoch, loss, lr, norm);
            boolean evaluate = evaluationDue(run, dev, metric);
            boolean stop = evaluate && evaluateAndCheckPatience(run, dev, metric, progress);
            if (stop) reason = TrainingResult.StopReason.EARLY_STOPPED;
            checkpointIfDue(run, evaluate || stop);
            if (stop) break;
        }
        return finish(run, reason);
    }

    // ------------------------------------------------------------------ the steps of fit

    /**
     * How the examples divide into optimizer steps: {@code perStep} examples a step (batch size × accumulation),
     * {@code stepsPerEpoch} steps an epoch, {@code total} steps in the run. Step {@code s} takes the examples at
     * positions {@link #firstPosition}{@code (s)} onwards (at most {@code perStep}, fewer at the epoch's end) of epoch
     * {@link #epoch}{@code (s)}'s order.
     */
    public record Plan(long examples, int perStep, long stepsPerEpoch, long total) {
        public int epoch(long step) {
            return (int) (step / stepsPerEpoch);
        }

        /** The position in its epoch's order of step {@code step}'s first example. */
        public long firstPosition(long step) {
            return (step % stepsPerEpoch) * perStep;
        }

        /** The number of examples step {@code step} takes. */
        public int stepSize(long step) {
            return (int) Math.min(perStep, examples - firstPosition(step));
        }
    }

    /**
     * Where each optimizer step's gradients come from: the examples in this process ({@link #fit(ExampleSource, List, Metric)}),
     * or a data-parallel driver that hands the step's micro-batches ({@link StepRunner#microBatch}) to other machines and
     * combines their gradients.
     */
    @FunctionalInterface
    public interface StepGradients {
        /**
         * Sets the gradients of {@code params} to step {@code step}'s (the mean over its micro-batches; a tensor that gets none
         * keeps none) and returns the step's mean loss (not finite when a micro-batch's is not). Steps come in order from the
         * first step of the run, which is not 0 in a resumed run.
         */
        double compute(Map<String, Tensor> params, long step, Plan plan);
    }

    /** The steps' gradients from an {@link ExampleSource} in this process. */
    private final class LocalSteps implements StepGradients {
        final ExampleSource<E> train;
        Iterator<E> examples;
        int examplesEpoch = -1;

        LocalSteps(ExampleSource<E> train) {
            this.train = train;
        }

        @Override
        public double compute(Map<String, Tensor> params, long step, Plan plan) {
            return runner.gradients(params, examples(step, plan), step);
        }

        /**
         * The step's examples: the next {@code perStep} of its epoch's order (fewer at the epoch's end). Entering an
         * epoch mid-way (a resumed run) skips the examples of the steps already taken in it.
         */
        List<E> examples(long stepIndex, Plan plan) {
            int epoch = plan.epoch(stepIndex);
            if (epoch != examplesEpoch) {
                examples = train.epoch(epoch);
                examplesEpoch = epoch;
                long skip = plan.firstPosition(stepIndex);
                for (long i = 0; i < skip && examples.hasNext(); i++) examples.next();
            }
            List<E> step = new ArrayList<>(plan.perStep());
            while (step.size() < plan.perStep() && examples.hasNext()) step.add(examples.next());
            return step;
        }
    }

    /** One call of {@link #fit}: what its steps share. */
    private final class Run {
        final Map<String, Tensor> params;
        final Plan plan;
        final Optimizer opt;
        final State state;
        final List<Double> losses = new ArrayList<>();
        final long t0 = System.nanoTime(), startStep;

        Run(Map<String, Tensor> params, Plan plan, Optimizer opt, State state) {
            this.params = params;
            this.plan = plan;
            this.opt = opt;
            this.state = state;
            this.startStep = state.step;
        }
    }

    /** The plan of a run over {@code examples} examples with this trainer's batch size, accumulation, epochs and max steps. */
    public Plan plan(long examples) {
        int perStep = cfg.batchSize() * cfg.accumulation();
        long stepsPerEpoch = (examples + perStep - 1) / perStep;
        return new Plan(examples, perStep, stepsPerEpoch, cfg.maxSteps() > 0 ? cfg.maxSteps() : cfg.epochs() * stepsPerEpoch);
    }

    /** A fresh optimizer and state, or both restored from the last checkpoint when resuming; the optimizer's moments reserved. */
    private Run start(Map<String, Tensor> params, Plan plan) {
        Optimizer opt = new AdamW(0.9, 0.999, 1e-8, cfg.weightDecay());
        State st = new State();
        if (cfg.resume() && cfg.checkpointDir() != null && Files.isDirectory(cfg.checkpointDir().resolve(LAST))) {
            st = restore(cfg.checkpointDir().resolve(LAST), params, opt, plan);
            LOG.info("resumed at step {} of {} from {}", st.step, plan.total(), cfg.checkpointDir().resolve(LAST));
        }
        opt.reserve(params);
        return new Run(params, plan, opt, st);
    }

    /** Whether the step's loss and gradient norm are finite; if not, says so and drops the step's gradients. */
    private boolean finite(Run run, double loss, double norm) {
        if (Double.isFinite(loss) && Double.isFinite(norm)) return true;
        long step = run.state.step;
        LOG.warn("step {}: loss {} / gradient norm {} is not finite; stopping with the parameters of step {}", step + 1, loss, norm, step);
        run.params.values().forEach(Tensor::zeroGrad);
        return false;
    }

    /** Clips the gradients, takes one AdamW step at the scheduled learning rate and clears them; returns that rate. */
    private double optimizerStep(Run run, double norm) {
        StepRunner.clip(run.params, norm, cfg.maxGradNorm());
        double lr = cfg.learningRate() * cfg.schedule().factor(run.state.step, cfg.warmupSteps(), run.plan.total());
        run.opt.step(run.params, lr);
        run.params.values().forEach(Tensor::zeroGrad);
        return lr;
    }

    /** Counts the step taken, records its loss and tells the listeners. */
    private TrainingListener.Progress completeStep(Run run, int epoch, double loss, double lr, double norm) {
        State st = run.state;
        long total = run.plan.total();
        st.step++;
        run.losses.add(loss);
        double secs = (System.nanoTime() - run.t0) / 1e9, rate = (st.step - run.startStep) / Math.max(secs, 1e-9);
        var progress = new TrainingListener.Progress(st.step, total, epoch, loss, lr, norm, rate,
                Duration.ofMillis((long) ((total - st.step) / Math.max(rate, 1e-9) * 1000)));
        listeners.forEach(l -> l.onStep(progress));
        return progress;
    }

    /** Whether to evaluate after the step just taken: every {@code evalEvery} steps (else every epoch) and after the last. */
    private boolean evaluationDue(Run run, List<E> dev, Metric<E> metric) {
        long step = run.state.step, total = run.plan.total();
        return dev != null && metric != null && !dev.isEmpty()
                && (cfg.evalEvery() > 0 ? step % cfg.evalEvery() == 0 || step == total : step % run.plan.stepsPerEpoch() == 0 || step == total);
    }

    /**
     * Evaluates {@code metric} on {@code dev}, keeps the parameters in {@code best/} when it improved, and tells the
     * listeners; returns whether the patience has run out (early stop).
     */
    private boolean evaluateAndCheckPatience(Run run, List<E> dev, Metric<E> metric, TrainingListener.Progress progress) {
        State st = run.state;
        double m = metric.evaluate(model, dev);
        boolean better = Double.isNaN(st.best) || (metric.higherIsBetter() ? m > st.best : m < st.best);
        if (better) {
            st.best = m;
            st.bestStep = st.step;
            st.badEvals = 0;
            if (cfg.checkpointDir() != null) checkpoint(cfg.checkpointDir().resolve(BEST), run, null);
        } else {
            st.badEvals++;
        }
        listeners.forEach(l -> l.onEvaluation(progress.step(), m, better));
        return cfg.patience() > 0 && st.badEvals >= cfg.patience();
    }

    /**
     * Writes {@code last/} after an evaluation or early stop ({@code force}), after the last step, and every
     * {@code checkpointEvery} steps; nothing without a checkpoint directory.
     */
    private void checkpointIfDue(Run run, boolean force) {
        long s = run.state.step;
        if (cfg.checkpointDir() == null || !(force || s == run.plan.total() || (cfg.checkpointEvery() > 0 && s % cfg.checkpointEvery() == 0))) return;
        checkpoint(cfg.checkpointDir().resolve(LAST), run, run.opt);
        listeners.forEach(l -> l.onCheckpoint(s, cfg.checkpointDir().resolve(LAST)));
    }

    private TrainingResult finish(Run run, TrainingResult.StopReason reason) {
        State st = run.state;
        TrainingResult result = new TrainingResult(st.step, Collections.unmodifiableList(run.losses), st.best, st.bestStep, reason);
        listeners.forEach(l -> l.onStop(result));
        return result;
    }

    // ------------------------------------------------------------------ checkpoints

    private static final class State {
        long step;
        double best = Double.NaN;
        long bestStep = -1;
        int badEvals;
    }

    /** Writes the trainable tensors, the optimizer state (unless {@code opt} is null: {@code best/}) and the trainer state. */
    private void checkpoint(Path dir, Run run, Optimizer opt) {
        Checkpoints.write(dir, run.params, opt, stateJson(run.state, run.plan.examples()), run.state.step);
    }

    private ObjectNode stateJson(State st, long examples) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("step", st.step);
        if (Double.isNaN(st.best)) n.putNull("best_metric");
        else n.put("best_metric", st.best);
        n.put("best_step", st.bestStep);
        n.put("evaluations_without_improvement", st.badEvals);
        n.put("seed", cfg.seed());
        n.put("batch_size", cfg.batchSize());
        n.put("accumulation", cfg.accumulation());
        n.put("examples", examples);
        return n;
    }

    /**
     * The state of the checkpoint in {@code dir}, its parameters and optimizer state restored into {@code params} and
     * {@code opt}. Everything that can refuse it is checked before anything is overwritten: the seed, batch size and
     * accumulation, the number of training examples (which sets the epochs' boundaries; a checkpoint written before it was
     * recorded is taken as it is) and the step.
     */
    private State restore(Path dir, Map<String, Tensor> params, Optimizer opt, Plan plan) {
        Path stateFile = dir.resolve(Checkpoints.STATE);
        JsonNode s = Checkpoints.readState(dir);
        if (s.path("seed").asLong() != cfg.seed() || s.path("batch_size").asInt() != cfg.batchSize() || s.path("accumulation").asInt() != cfg.accumulation()) {
            throw PeftException.inFile(stateFile, "checkpoint was written with seed " + s.path("seed") + ", batch size " + s.path("batch_size")
                    + ", accumulation " + s.path("accumulation") + ": resuming with other values would not continue the same run");
        }
        if (s.hasNonNull("examples") && s.get("examples").asLong() != plan.examples()) {
            throw PeftException.inFile(stateFile, "checkpoint was written training on " + s.get("examples").asLong() + " examples, this run has "
                    + plan.examples() + ": its epochs would not be the same; resume on the same data, or train afresh without resume");
        }
        State st = new State();
        st.step = s.path("step").asLong();
        st.best = s.path("best_metric").isNull() ? Double.NaN : s.path("best_metric").asDouble();
        st.bestStep = s.path("best_step").asLong(-1);
        st.badEvals = s.path("evaluations_without_improvement").asInt();
        if (st.step > plan.total()) {
            throw PeftException.inFile(stateFile, "checkpoint is at step " + st.step + ", past this run's " + plan.total() + " steps");
        }
        Checkpoints.restoreParameters(dir, params);
        Checkpoints.restoreOptimizer(dir, params, opt, st.step);
        return st;
    }
}
