package io.peft4j.core.train;

import java.nio.file.Path;

/**
 * How to train. Defaults follow Hugging Face's Trainer where it has one (AdamW β 0.9/0.999, ε 1e-8,
 * linear decay, clipping at 1.0).
 *
 * @param learningRate       peak learning rate
 * @param weightDecay        AdamW's decoupled decay (matrices only)
 * @param warmupSteps        linear warm-up steps
 * @param schedule           decay after warm-up
 * @param maxGradNorm        clip the global gradient norm to this (0 = no clipping)
 * @param batchSize          examples per micro-batch
 * @param accumulation       micro-batches per optimizer step
 * @param epochs             passes over the training data (bounded by maxSteps when positive)
 * @param maxSteps           optimizer steps in all, or 0 for epochs × steps per epoch
 * @param seed               seeds data order and dropout: equal seeds give identical runs
 * @param evalEvery          evaluate every this many steps (0 = at the end of each epoch only)
 * @param patience           stop after this many evaluations without improvement (0 = never)
 * @param checkpointDir      where checkpoints go ({@code last/}, {@code best/}), or null for none
 * @param checkpointEvery    write {@code last/} every this many steps (0 = at evaluations only)
 * @param resume             continue from {@code checkpointDir/last} when it exists
 */
public record TrainingConfig(double learningRate, double weightDecay, int warmupSteps, Schedule schedule, double maxGradNorm,
                             int batchSize, int accumulation, int epochs, long maxSteps, long seed, int evalEvery, int patience,
                             Path checkpointDir, int checkpointEvery, boolean resume) {
    public TrainingConfig {
        if (!(learningRate > 0)) throw new IllegalArgumentException("learning rate must be positive, not " + learningRate);
        if (batchSize <= 0 || accumulation <= 0) throw new IllegalArgumentException("batch size " + batchSize + " and accumulation " + accumulation + " must be positive");
        if (epochs <= 0 && maxSteps <= 0) throw new IllegalArgumentException("epochs " + epochs + " and max steps " + maxSteps + ": one of them must be positive");
    }

    /** Hugging Face Trainer's defaults where it has them: learning rate 1e-3, batches of 8, one epoch, linear decay, clipping at 1, seed 42. */
    public static TrainingConfig defaults() {
        return builder().build();
    }

    /**
     * A builder starting from {@link #defaults()}, e.g.
     * {@code TrainingConfig.builder().learningRate(5e-4).batchSize(16, 1).epochs(3).warmup(20, Schedule.LINEAR).build()}.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.learningRate = learningRate;
        b.weightDecay = weightDecay;
        b.warmupSteps = warmupSteps;
        b.schedule = schedule;
        b.maxGradNorm = maxGradNorm;
        b.batchSize = batchSize;
        b.accumulation = accumulation;
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.seed = seed;
        b.evalEvery = evalEvery;
        b.patience = patience;
        b.checkpointDir = checkpointDir;
        b.checkpointEvery = checkpointEvery;
        b.resume = resume;
        return b;
    }

    public TrainingConfig withLearningRate(double lr) {
        return toBuilder().learningRate(lr).build();
    }

    public TrainingConfig withWeightDecay(double wd) {
        return toBuilder().weightDecay(wd).build();
    }

    public TrainingConfig withWarmup(int steps, Schedule s) {
        return toBuilder().warmup(steps, s).build();
    }

    public TrainingConfig withMaxGradNorm(double n) {
        return toBuilder().maxGradNorm(n).build();
    }

    public TrainingConfig withBatchSize(int b, int accumulation) {
        return toBuilder().batchSize(b, accumulation).build();
    }

    public TrainingConfig withEpochs(int e) {
        return toBuilder().epochs(e).build();
    }

    public TrainingConfig withMaxSteps(long s) {
        return toBuilder().maxSteps(s).build();
    }

    public TrainingConfig withSeed(long s) {
        return toBuilder().seed(s).build();
    }

    public TrainingConfig withEvaluation(int every, int patience) {
        return toBuilder().evaluation(every, patience).build();
    }

    public TrainingConfig withCheckpoints(Path dir, int every, boolean resume) {
        return toBuilder().checkpoints(dir, every, resume).build();
    }

    /** Builds a {@link TrainingConfig}; each setter names the record component it sets. */
    public static final class Builder {
        private double learningRate = 1e-3, weightDecay = 0.0, maxGradNorm = 1.0;
        private int warmupSteps = 0, batchSize = 8, accumulation = 1, epochs = 1, evalEvery = 0, patience = 0, checkpointEvery = 0;
        private Schedule schedule = Schedule.LINEAR;
        private long maxSteps = 0, seed = 42;
        private Path checkpointDir;
        private boolean resume;

        private Builder() {
        }

        public Builder learningRate(double lr) {
            learningRate = lr;
            return this;
        }

        public Builder weightDecay(double wd) {
            weightDecay = wd;
            return this;
        }

        public Builder warmup(int steps, Schedule s) {
            warmupSteps = steps;
            schedule = s;
            return this;
        }

        public Builder maxGradNorm(double n) {
            maxGradNorm = n;
            return this;
        }

        public Builder batchSize(int b, int accumulation) {
            batchSize = b;
            this.accumulation = accumulation;
            return this;
        }

        public Builder epochs(int e) {
            epochs = e;
            return this;
        }

        public Builder maxSteps(long s) {
            maxSteps = s;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        public Builder evaluation(int every, int patience) {
            evalEvery = every;
            this.patience = patience;
            return this;
        }

        public Builder checkpoints(Path dir, int every, boolean resume) {
            checkpointDir = dir;
            checkpointEvery = every;
            this.resume = resume;
            return this;
        }

        /** The config; fails on a non-positive learning rate or batch size, or with neither epochs nor steps positive. */
        public TrainingConfig build() {
            return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed,
                    evalEvery, patience, checkpointDir, checkpointEvery, resume);
        }
    }
}
