package io.peft4j.spark;

import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The driver's side of a data-parallel step: the step's gradients computed by the executors. The micro-batches of the
 * step's epoch wait cached on the executors ({@link EpochMicroBatches}); each step it broadcasts the trainable tensors'
 * values, runs one task per partition ({@link StepTask}), and sums what comes back in a tree ({@code treeReduce}).
 */
final class SparkSteps<E> implements Trainer.StepGradients, AutoCloseable {
    private final JavaSparkContext jsc;
    private final int treeDepth;
    private final Broadcast<ModelSpec> spec;
    private final ObjectiveFactory<E> objective;
    private final TrainingConfig cfg;
    private final EpochMicroBatches<E> groups;
    long lastBroadcastBytes, lastGradientBytes;

    SparkSteps(JavaSparkContext jsc, JavaPairRDD<Long, E> indexed, int examples, int partitions, int treeDepth, Broadcast<ModelSpec> spec,
               ObjectiveFactory<E> objective, TrainingConfig cfg) {
        this.jsc = jsc;
        this.groups = new EpochMicroBatches<>(jsc, indexed, examples, partitions, cfg);
        this.treeDepth = treeDepth;
        this.spec = spec;
        this.objective = objective;
        this.cfg = cfg;
    }

    @Override
    public double compute(Map<String, Tensor> params, long step, Trainer.Plan plan) {
        JavaPairRDD<MicroBatches.Key, List<E>> grouped = groups.of(step, plan);
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

    @Override
    public void close() {
        groups.close();
    }
}
