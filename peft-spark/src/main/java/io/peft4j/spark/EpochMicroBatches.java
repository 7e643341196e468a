package io.peft4j.spark;

import io.peft4j.core.train.ExampleSource;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The current epoch's examples grouped into the micro-batches of its steps ({@link MicroBatches}), cached on the
 * executors until the run enters the next epoch. The epoch's order is {@link ExampleSource#order}'s, the single-process
 * trainer's, drawn on the driver and broadcast as each example's position.
 */
final class EpochMicroBatches<E> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EpochMicroBatches.class);

    private final JavaSparkContext jsc;
    private final JavaPairRDD<Long, E> indexed;
    private final int examples, partitions;
    private final TrainingConfig cfg;
    private int epoch = -1;
    private JavaPairRDD<MicroBatches.Key, List<E>> grouped;
    private Broadcast<int[]> positions;

    EpochMicroBatches(JavaSparkContext jsc, JavaPairRDD<Long, E> indexed, int examples, int partitions, TrainingConfig cfg) {
        this.jsc = jsc;
        this.indexed = indexed;
        this.examples = examples;
        this.partitions = partitions;
        this.cfg = cfg;
    }

    /** The micro-batches of {@code step}'s epoch, from {@code step} on when the run enters the epoch here (a resumed run). */
    JavaPairRDD<MicroBatches.Key, List<E>> of(long step, Trainer.Plan plan) {
        int e = plan.epoch(step);
        if (e != epoch) group(e, step, plan);
        return grouped;
    }

    private void group(int e, long from, Trainer.Plan plan) {
        close();
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

    @Override
    public void close() {
        if (grouped != null) grouped.unpersist(false);
        if (positions != null) positions.destroy();
        grouped = null;
        positions = null;
        epoch = -1;
    }
}
