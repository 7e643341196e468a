package io.peft4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.AdamW;
import io.peft4j.core.train.Checkpoints;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The driver's loop of local steps with parameter averaging ({@link SparkTrainer#averageEvery}): rounds of up to
 * {@code k} steps (a round ends at an epoch's end) in which every partition steps its own copy of the parameters and
 * AdamW moments on its micro-batches of each step, after which the driver averages the copies. One partition computes
 * exactly the single-process run; with more it is another algorithm (local SGD), not the single process's.
 */
final class Averaging<E> {
    private static final Logger LOG = LoggerFactory.getLogger(Averaging.class);

    private final JavaSparkContext jsc;
    private final PeftModel model;
    private final EpochMicroBatches<E> groups;
    private final Broadcast<ModelSpec> spec;
    private final ObjectiveFactory<E> objective;
    private final TrainingConfig cfg;
    private final int every, partitions, treeDepth;
    private final List<TrainingListener> listeners;

    Averaging(JavaSparkContext jsc, PeftModel model, EpochMicroBatches<E> groups, Broadcast<ModelSpec> spec, ObjectiveFactory<E> objective,
              TrainingConfig cfg, int every, int partitions, int treeDepth, List<TrainingListener> listeners) {
        this.jsc = jsc;
        this.model = model;
        this.groups = groups;
        this.spec = spec;
        this.objective = objective;
        this.cfg = cfg;
        this.every = every;
        this.partitions = partitions;
        this.treeDepth = treeDepth;
        this.listeners = listeners;
    }

    TrainingResult fit(Trainer.Plan plan) {
        Map<String, Tensor> params = model.trainableParameters();
        List<Tensor> list = new ArrayList<>(params.values());
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, cfg.weightDecay());
        long step = 0;
        Path last = cfg.checkpointDir() == null ? null : cfg.checkpointDir().resolve(Trainer.LAST);
        if (cfg.resume() && last != null && Files.isDirectory(last)) step = restore(last, params, opt, plan);
        opt.reserve(params);
        long first = step, t0 = System.nanoTime();
        List<Double> losses = new ArrayList<>();
        TrainingResult.StopReason reason = TrainingResult.StopReason.COMPLETED;
        while (step < plan.total()) {
            long from = step, epochEnd = (plan.epoch(step) + 1L) * plan.stepsPerEpoch(), to = Math.min(plan.total(), Math.min(epochEnd, step + every));
            JavaPairRDD<MicroBatches.Key, List<E>> grouped = groups.of(step, plan);
            double[] rates = new double[(int) (to - from)];
            for (int i = 0; i < rates.length; i++) rates[i] = cfg.learningRate() * cfg.schedule().factor(from + i, cfg.warmupSteps(), plan.total());
            RoundPart sum = round(grouped, params, list, opt, from, rates, plan);
            double[] roundLosses = new double[rates.length];
            boolean finite = true;
            for (int i = 0; i < rates.length; i++) {
                int micros = (plan.stepSize(from + i) + cfg.batchSize() - 1) / cfg.batchSize();
                if (sum.microBatches()[i] != micros) {
                    throw new PeftSparkException("steps " + (from + 1) + " to " + to, "the executors ran " + sum.microBatches()[i] + " micro-batches of step "
                            + (from + i + 1) + ", not its " + micros, null);
                }
                roundLosses[i] = sum.lossSums()[i] / micros;
                finite &= Double.isFinite(roundLosses[i]);
            }
            if (!finite) {
                LOG.warn("steps {} to {}: a loss is not finite; stopping with the parameters of step {}", from + 1, to, from);
                reason = TrainingResult.StopReason.NON_FINITE_LOSS;
                break;
            }
            double c = 1.0 / sum.partitions();
            sum.values().times(c).copyInto(list);
            FlatTensors m = sum.m().times(c), v = sum.v().times(c);
            Map<String, INDArray> state = new LinkedHashMap<>();
            int i = 0;
            for (var e : params.entrySet()) state.put("m/" + e.getKey(), m.array(i++, e.getValue().shape()));
            i = 0;
            for (var e : params.entrySet()) state.put("v/" + e.getKey(), v.array(i++, e.getValue().shape()));
            opt.load(state, opt.stepCount() + rates.length);
            opt.reserve(params);
            for (int k = 0; k < rates.length; k++) {
                step++;
                losses.add(roundLosses[k]);
                double secs = (System.nanoTime() - t0) / 1e9, rate = (step - first) / Math.max(secs, 1e-9);
                var p = new TrainingListener.Progress(step, plan.total(), plan.epoch(step - 1), roundLosses[k], rates[k], Double.NaN, rate,
                        Duration.ofMillis((long) ((plan.total() - step) / Math.max(rate, 1e-9) * 1000)));
                for (TrainingListener l : listeners) l.onStep(p);
            }
            boolean due = step == plan.total() || cfg.checkpointEvery() > 0 && step / cfg.checkpointEvery() > from / cfg.checkpointEvery();
            if (last != null && due) {
                Checkpoints.write(last, params, opt, stateJson(step, plan.examples()), step);
                for (TrainingListener l : listeners) l.onCheckpoint(step, last);
            }
        }
        TrainingResult result = new TrainingResult(step, Collections.unmodifiableList(losses), Double.NaN, -1, reason);
        listeners.forEach(l -> l.onStop(result));
        return result;
    }

    /** One round on the executors: every partition's parameters and moments after it, summed. */
    private RoundPart round(JavaPairRDD<MicroBatches.Key, List<E>> grouped, Map<String, Tensor> params, List<Tensor> list, AdamW opt, long from,
                            double[] rates, Trainer.Plan plan) {
        Map<String, INDArray> state = opt.state();
        List<INDArray> m = new ArrayList<>(), v = new ArrayList<>();
        for (String name : params.keySet()) {
            m.add(state.get("m/" + name));
            v.add(state.get("v/" + name));
        }
        FlatTensors values = FlatTensors.values(list);
        Broadcast<RoundPart> b = jsc.broadcast(new RoundPart(values, FlatTensors.ofArrays(m, values.isDouble()), FlatTensors.ofArrays(v, values.isDouble()),
                new double[0], new int[0], 0));
        try {
            return grouped.mapPartitions(new RoundTask<>(spec, b, objective, cfg.batchSize(), cfg.accumulation(), cfg.seed(), from, opt.stepCount(), rates,
                    cfg.maxGradNorm(), cfg.weightDecay())).treeReduce(RoundPart::plus, treeDepth);
        } catch (Exception ex) {   // Spark's SparkException is checked, though not declared
            throw Faults.of("steps " + (from + 1) + " to " + (from + rates.length) + " of " + plan.total() + ": local steps on the executors", ex);
        } finally {
            b.destroy();
        }
    }

    private ObjectNode stateJson(long step, long examples) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("step", step);
        n.putNull("best_metric");
        n.put("best_step", -1);
        n.put("evaluations_without_improvement", 0);
        n.put("seed", cfg.seed());
        n.put("batch_size", cfg.batchSize());
        n.put("accumulation", cfg.accumulation());
        n.put("average_every", every);
        n.put("partitions", partitions);
        n.put("examples", examples);
        return n;
    }

    private long restore(Path dir, Map<String, Tensor> params, AdamW opt, Trainer.Plan plan) {
        long total = plan.total();
        JsonNode s = Checkpoints.readState(dir);
        Path file = dir.resolve(Checkpoints.STATE);
        if (s.path("seed").asLong() != cfg.seed() || s.path("batch_size").asInt() != cfg.batchSize() || s.path("accumulation").asInt() != cfg.accumulation()
                || s.path("average_every").asInt() != every || s.path("partitions").asInt() != partitions) {
            throw PeftException.inFile(file, "checkpoint was written with seed " + s.path("seed") + ", batch size " + s.path("batch_size") + ", accumulation "
                    + s.path("accumulation") + ", averaging every " + s.path("average_every").asText("(none)") + " steps over "
                    + s.path("partitions").asText("(unknown)") + " partitions: resuming with other values would not continue the same run");
        }
        if (s.hasNonNull("examples") && s.get("examples").asLong() != plan.examples()) {
            throw PeftException.inFile(file, "checkpoint was written training on " + s.get("examples").asLong() + " examples, this run has "
                    + plan.examples() + ": its epochs would not be the same; resume on the same data, or train afresh without resume");
        }
        long step = s.path("step").asLong();
        if (step > total) throw PeftException.inFile(file, "checkpoint is at step " + step + ", past this run's " + total + " steps");
        Checkpoints.restoreParameters(dir, params);
        Checkpoints.restoreOptimizer(dir, params, opt, step);
        LOG.info("resumed at step {} of {} from {}", step, total, dir);
        return step;
    }
}
