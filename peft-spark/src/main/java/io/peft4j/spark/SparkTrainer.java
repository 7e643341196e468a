package io.peft4j.spark;

import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.train.Metric;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Data-parallel training on Spark. The driver holds the model (base, adapters, head), the optimizer and the loop: it is
 * {@link Trainer}'s loop, with each step's gradients computed by the executors. Each step the driver broadcasts the
 * trainable tensors' values (never the base); the step's examples are cut into micro-batches exactly as the single
 * process cuts them, micro-batch {@code m} runs on partition {@code m mod partitions}, where each executor JVM keeps the
 * frozen base loaded (from {@code modelDir}, once per executor and task slot), and the partitions' gradient sums come back
 * through a tree reduction. A step has {@code cfg.accumulation()} micro-batches, so only that many partitions work in a
 * step: set the accumulation to a multiple of the partitions (with accumulation 1 every step runs on partition 0, one
 * task at a time; {@link #fit} warns). The driver then clips, steps AdamW at the scheduled rate, evaluates and checkpoints as the
 * single process does, so with one seed the parameters after each step equal {@link Trainer}'s on the same examples up to
 * the rounding of adding the micro-batch gradients in another order.
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(Models.load(modelDir, DataType.FLOAT));
 * model.add("default", LoraConfig.defaults().withR(8).withTargetModules("c_attn"));
 * JavaRDD<Example.Lm> examples = ...;                       // token ids: Example records are serializable
 * TrainingResult r = new SparkTrainer<>(spark, model, modelDir, ObjectiveFactory.causalLm(0), cfg).fit(examples);
 * model.save(Path.of("adapter"));
 * }</pre>
 *
 * <p>A failed task is retried by Spark ({@code spark.task.maxFailures}); its step's result is the same, since a task only
 * reads the step's broadcast values and its cached micro-batches. A job that fails for good throws a
 * {@link PeftSparkException} naming the step, the stage and the cause, after the last checkpoint, which stays intact;
 * {@code cfg.withCheckpoints(dir, every, true)} resumes from it exactly.
 *
 * @param <E> the example type: serializable (the {@code Example} records are)
 */
public final class SparkTrainer<E> {
    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);
    private final JavaSparkContext jsc;
    private final PeftModel model;
    private final Path modelDir;
    private final ObjectiveFactory<E> objective;
    private final TrainingConfig cfg;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private int partitions, treeDepth = 2, averageEvery;
    private long broadcastBytes, gradientBytes;

    /**
     * @param spark     the session whose executors compute the gradients
     * @param model     the driver's model: the base (loaded from {@code modelDir}) with its adapters and head
     * @param modelDir  the base model's directory as the executors see it (a path on every worker, or a shared file system)
     * @param objective makes the loss where it runs; serializable
     * @param cfg       as for {@link Trainer}
     */
    public SparkTrainer(SparkSession spark, PeftModel model, Path modelDir, ObjectiveFactory<E> objective, TrainingConfig cfg) {
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.model = model;
        this.modelDir = modelDir;
        this.objective = objective;
        this.cfg = cfg;
        this.partitions = jsc.defaultParallelism();
        requireSerializable(objective, "the objective factory");
    }

    /** The partitions a step's micro-batches are spread over (default: Spark's default parallelism). */
    public SparkTrainer<E> partitions(int n) {
        if (n < 1) throw new IllegalArgumentException("partitions must be at least 1, not " + n);
        this.partitions = n;
        return this;
    }

    /** The depth of the tree the partitions' gradients are summed in (default 2). */
    public SparkTrainer<E> treeDepth(int depth) {
        if (depth < 1) throw new IllegalArgumentException("tree depth must be at least 1, not " + depth);
        this.treeDepth = depth;
        return this;
    }

    /**
     * A second mode, local steps with parameter averaging: each partition takes optimizer steps of its own on its
     * micro-batches of each step (their mean gradient, clipped, AdamW with its own copy of the moments), and every {@code k}
     * steps (and at each epoch's end) the driver averages the partitions' parameters and moments. Parameters and moments
     * cross the network once a round instead of gradients once a step. It is not the single-process algorithm (with one
     * partition it is, exactly): each partition's steps see a smaller batch and drift apart between averages, so results
     * differ from {@link Trainer}'s and depend on the number of partitions. There is no evaluation in this mode.
     * {@code k} 0 (the default) is the synchronous mode.
     */
    public SparkTrainer<E> averageEvery(int k) {
        if (k < 0) throw new IllegalArgumentException("averaging interval must be 0 (synchronous) or positive, not " + k);
        this.averageEvery = k;
        return this;
    }

    public SparkTrainer<E> addListener(TrainingListener l) {
        listeners.add(l);
        return this;
    }

    /** Trains on {@code train}. */
    public TrainingResult fit(Dataset<E> train) {
        return fit(train.javaRDD(), null, null);
    }

    /** Trains on {@code train}. */
    public TrainingResult fit(JavaRDD<E> train) {
        return fit(train, null, null);
    }

    /**
     * Trains on {@code train}, evaluating {@code metric} on {@code dev} on the driver when both are given. The order of
     * {@code train}'s elements must be deterministic (a file read, {@code parallelize}): example {@code i} of it is
     * example {@code i} of the single-process list it trains like.
     */
    public TrainingResult fit(JavaRDD<E> train, List<E> dev, Metric<E> metric) {
        ModelSpec spec = ModelSpec.of(model, modelDir);
        if (spec.names().isEmpty()) throw new IllegalStateException("nothing to train: add an adapter, a head, or unfreeze the base");
        String uneven = partitionWarning(cfg.accumulation(), partitions);
        if (uneven != null) LOG.warn(uneven);
        JavaPairRDD<Long, E> indexed = train.zipWithIndex().mapToPair(Tuple2::swap).persist(StorageLevel.MEMORY_AND_DISK());
        indexed.setName("peft4j training examples, indexed");
        Broadcast<ModelSpec> specB = null;
        try {
            long n;
            try {
                n = indexed.count();
            } catch (Exception e) {                       // Spark's SparkException is checked, though not declared
                throw Faults.of("reading the training examples", e);
            }
            if (n == 0) {
                throw new PeftSparkException("reading the training examples", "no training examples: all " + train.getNumPartitions()
                        + " partitions of the data set are empty", null);
            }
            if (n > Integer.MAX_VALUE) throw new PeftSparkException("reading the training examples", n + " examples: at most 2^31 - 1 are supported", null);
            specB = jsc.broadcast(spec);
            Trainer<E> trainer = new Trainer<>(model, objective.create(), cfg);
            if (averageEvery > 0) {
                if (dev != null && metric != null) throw new IllegalArgumentException("local steps with averaging do not evaluate: train without a dev set");
                try (EpochMicroBatches<E> groups = new EpochMicroBatches<>(jsc, indexed, (int) n, partitions, cfg)) {
                    return new Averaging<>(jsc, model, groups, specB, objective, cfg, averageEvery, partitions, treeDepth, listeners).fit(trainer.plan(n));
                }
            }
            listeners.forEach(trainer::addListener);
            try (SparkSteps<E> steps = new SparkSteps<>(jsc, indexed, (int) n, partitions, treeDepth, specB, objective, cfg)) {
                try {
                    return trainer.fit(n, steps, dev, metric);
                } finally {
                    broadcastBytes = steps.lastBroadcastBytes;
                    gradientBytes = steps.lastGradientBytes;
                }
            }
        } finally {
            indexed.unpersist(false);
            if (specB != null) specB.destroy();
        }
    }

    /**
     * Why {@code accumulation} micro-batches a step spread badly over {@code partitions} partitions (micro-batch {@code m}
     * runs on partition {@code m mod partitions}), or null when it is a multiple of them.
     */
    static String partitionWarning(int accumulation, int partitions) {
        if (accumulation % partitions == 0) return null;
        if (accumulation < partitions) {
            return "a step has " + accumulation + " micro-batch" + (accumulation == 1 ? "" : "es") + " (TrainingConfig accumulation) for " + partitions
                    + " partitions: only " + accumulation + " of the partitions work in each step" + (accumulation == 1 ? ", so training is serial" : "")
                    + "; set the accumulation to a multiple of " + partitions + " (withBatchSize(batchSize, " + partitions + ")) to use them all";
        }
        return "a step has " + accumulation + " micro-batches (TrainingConfig accumulation) for " + partitions + " partitions: some partitions run "
                + (accumulation / partitions + 1) + " micro-batches, others " + (accumulation / partitions) + ", and every step waits for the busiest;"
                + " set the accumulation to a multiple of " + partitions;
    }

    /** The bytes of trainable values the last step broadcast (the payload; each executor receives it once). */
    public long broadcastBytesPerStep() {
        return broadcastBytes;
    }

    /** The bytes of the gradient sum of the last step (each partition that ran a micro-batch sends one of this size). */
    public long gradientBytesPerStep() {
        return gradientBytes;
    }

    /** Fails, naming {@code what} and the first part that is not serializable, when {@code o} cannot be shipped to executors. */
    static void requireSerializable(Object o, String what) {
        try (ObjectOutputStream out = new ObjectOutputStream(OutputStream.nullOutputStream())) {
            out.writeObject(o);
        } catch (NotSerializableException e) {
            throw new PeftSparkException("shipping " + what + " to the executors", what + " (" + o.getClass().getName() + ") is not serializable: it holds a "
                    + e.getMessage() + ", which is not; capture only serializable values (make what it needs inside it)", e);
        } catch (IOException e) {
            throw new PeftSparkException("shipping " + what + " to the executors", what + " cannot be serialized: " + e, e);
        }
    }
}
