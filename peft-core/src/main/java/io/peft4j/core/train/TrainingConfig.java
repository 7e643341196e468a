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

    public static TrainingConfig defaults() {
        return new TrainingConfig(1e-3, 0.0, 0, Schedule.LINEAR, 1.0, 8, 1, 1, 0, 42, 0, 0, null, 0, false);
    }

    public TrainingConfig withLearningRate(double lr) {
        return new TrainingConfig(lr, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withWeightDecay(double wd) {
        return new TrainingConfig(learningRate, wd, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withWarmup(int steps, Schedule s) {
        return new TrainingConfig(learningRate, weightDecay, steps, s, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withMaxGradNorm(double n) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, n, batchSize, accumulation, epochs, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withBatchSize(int b, int accumulation) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, b, accumulation, epochs, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withEpochs(int e) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, e, maxSteps, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withMaxSteps(long s) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, s, seed, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withSeed(long s) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, s, evalEvery, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withEvaluation(int every, int patience) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed, every, patience, checkpointDir, checkpointEvery, resume);
    }

    public TrainingConfig withCheckpoints(Path dir, int every, boolean resume) {
        return new TrainingConfig(learningRate, weightDecay, warmupSteps, schedule, maxGradNorm, batchSize, accumulation, epochs, maxSteps, seed, evalEvery, patience, dir, every, resume);
    }
}
