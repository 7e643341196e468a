package io.peft4j.spark;

import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.ExampleSource;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The driver's side of a data-parallel step: the step's gradients computed by the executors. Each epoch it groups the
 * indexed examples into the micro-batches of that epoch's order and keeps them cached on the executors; each step it
 * broadcasts the trainable tensors' values, runs one task per partition ({@link StepTask}), and sums what comes back in a
 * tree ({@code treeReduce}).
 */
final class SparkSteps<E> implements Trainer.StepGradients, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SparkSteps.class);

    private final JavaSparkContext jsc;
    private final JavaPairRDD<Long, E> indexed;
    private final int examples, partitions, treeDepth;
    private final Broadcast<ModelSpec> spec;
    private final ObjectiveFactory<E> objective;
    private final TrainingConfig cfg;
    private int epoch = -1;
    private JavaPairRDD<MicroBatches.Key, List<E>> grouped;
    private Broadcast<int[]> positions;
    long lastBroadcastBytes, lastGradientBytes;

    SparkSteps(JavaSparkContext jsc, JavaPairRDD<Long, E> indexed, int examples, int partitions, int treeDepth, Broadcast<ModelSpec> spec,
               ObjectiveFactory<E> objective, TrainingConfig cfg) {
        this.jsc = jsc;
        this.indexed = indexed;
        this.examples = examples;
        this.partitions = partitions;
        this.treeDepth = treeDepth;
        this.spec = spec;
        this.objective = objective;
        this.cfg = cfg;
    }

    @Override
    public double compute(Map<String, Tensor> params, long step, Trainer.Plan plan) {
        int e = plan.epoch(step);
        if (e != epoch) group(e, step, plan);
        String stage = "step " + (step + 1) + " of " + plan.total();
        List<Tensor> list = new ArrayList<>(params.values());
        int micros = (plan.stepSize(step) + cfg.batchSize() - 1) / cfg.batchSize();
        FlatTensors values = FlatTensors.values(list);
        Broadcast<FlatTensors> b = jsc.broadcast(values);
        StepPart total;
        try {
            total = grouped.mapPartitions(new StepTask<>(spec, b, objective, cfg.batchSize(), cfg.accumulation(), cfg.seed(), step, micros))
                    .treeReduce(StepPart::plus, treeDepth);
        } catch (Exception ex) {   // Spark's SparkException is checked, though not declared
            throw Faults.of(stage + ": computing the gradients on the executors", ex);
        } finally {
            b.destroy();
        }
        if (total.microBatches() != micros) {
            throw new PeftSparkException(stage, "the executors returned the gradients of " + total.microBatches() + " micro-batches, not the step's "
                    + micros, null);
        }
        lastBroadcastBytes = values.bytes();
        lastGradientBytes = total.grads().bytes();
        for (int i = 0; i < list.size(); i++) {
            Tensor p = list.get(i);
            INDArray g = total.grads().array(i, p.shape());
            if (g == null) p.zeroGrad();
            else p.setGrad(g);
        }
        return total.lossSum() / micros;
    }

    /** Groups epoch {@code e}'s examples into the micro-batches of its steps from {@code from} on, cached on the executors. */
    private void group(int e, long from, Trainer.Plan plan) {
        release();
        long t0 = System.nanoTime();
        int[] order = ExampleSource.order(examples, cfg.seed(), e);
        int[] pos = new int[examples];
        for (int p = 0; p < examples; p++) pos[order[p]] = p;
        positions = jsc.broadcast(pos);
        long epochStart = (long) e * plan.stepsPerEpoch(), to = Math.min(plan.total(), epochStart + plan.stepsPerEpoch());
        grouped = indexed.flatMapToPair(new MicroBatches.Keying<E>(positions, epochStart, from, to, plan.perStep(), cfg.batchSize()))
                .groupByKey(new MicroBatches.ByIndex(partitions))
                .mapValues(new MicroBatches.InOrder<>())
                .persist(StorageLevel.MEMORY_AND_DISK());
        grouped.setName("peft4j epoch " + (e + 1) + " micro-batches");
        try {
            grouped.count();
        } catch (Exception ex) {   // Spark's SparkException is checked, though not declared
            throw Faults.of("epoch " + (e + 1) + ": grouping the training examples into micro-batches", ex);
        }
        epoch = e;
        LOG.info("epoch {}: steps {} to {} grouped into micro-batches over {} partitions in {} ms", e + 1, from + 1, to, partitions,
                (System.nanoTime() - t0) / 1_000_000);
    }

    private void release() {
        if (grouped != null) grouped.unpersist(false);
        if (positions != null) positions.destroy();
        grouped = null;
        positions = null;
    }

    @Override
    public void close() {
        release();
    }
}
