package io.peft4j.spark;

import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.AdamW;
import io.peft4j.core.train.StepRunner;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One partition's round of local steps ({@link SparkTrainer#averageEvery}): from the round's broadcast parameters and AdamW
 * state, each step of the round in which it holds micro-batches is an optimizer step of its own, on the mean gradient of
 * those micro-batches (clipped, at the step's scheduled rate); returns the parameters and moments it ends with.
 */
final class RoundTask<E> implements FlatMapFunction<Iterator<Tuple2<MicroBatches.Key, List<E>>>, RoundPart> {
    private final Broadcast<ModelSpec> spec;
    private final Broadcast<RoundPart> start;
    private final ObjectiveFactory<E> objective;
    private final int batchSize, accumulation;
    private final long seed, from, optimizerSteps;
    private final double[] rates;
    private final double maxGradNorm, weightDecay;

    RoundTask(Broadcast<ModelSpec> spec, Broadcast<RoundPart> start, ObjectiveFactory<E> objective, int batchSize, int accumulation, long seed,
              long from, long optimizerSteps, double[] rates, double maxGradNorm, double weightDecay) {
        this.spec = spec;
        this.start = start;
        this.objective = objective;
        this.batchSize = batchSize;
        this.accumulation = accumulation;
        this.seed = seed;
        this.from = from;
        this.optimizerSteps = optimizerSteps;
        this.rates = rates;
        this.maxGradNorm = maxGradNorm;
        this.weightDecay = weightDecay;
    }

    @Override
    public Iterator<RoundPart> call(Iterator<Tuple2<MicroBatches.Key, List<E>>> it) {
        TreeMap<Long, TreeMap<Integer, List<E>>> mine = new TreeMap<>();
        while (it.hasNext()) {
            Tuple2<MicroBatches.Key, List<E>> t = it.next();
            long s = t._1().step();
            if (s >= from && s < from + rates.length) mine.computeIfAbsent(s, k -> new TreeMap<>()).put(t._1().mb(), t._2());
        }
        if (mine.isEmpty()) return Collections.emptyIterator();
        String where = " (executor " + SparkEnv.get().executorId() + ", partition " + TaskContext.getPartitionId() + ")";
        ModelSpec s = spec.value();
        PeftModel model = ExecutorFault.during("loading the base model from " + s.modelDir() + where, () -> ExecutorCache.borrow(s.key(), () -> s.build(where)));
        RoundPart part = round(model, mine, where);
        ExecutorCache.giveBack(s.key(), model);
        return Collections.singletonList(part).iterator();
    }

    private RoundPart round(PeftModel model, TreeMap<Long, TreeMap<Integer, List<E>>> mine, String where) {
        Map<String, Tensor> params = model.trainableParameters();
        List<Tensor> list = new ArrayList<>(params.values());
        RoundPart st = start.value();
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, weightDecay);
        ExecutorFault.during("setting the round's parameters and optimizer state" + where, () -> {
            st.values().copyInto(list);
            Map<String, INDArray> state = new LinkedHashMap<>();
            int i = 0;
            for (var e : params.entrySet()) state.put("m/" + e.getKey(), st.m().array(i++, e.getValue().shape()));
            i = 0;
            for (var e : params.entrySet()) state.put("v/" + e.getKey(), st.v().array(i++, e.getValue().shape()));
            opt.load(state, optimizerSteps);
            opt.reserve(params);
            return null;
        });
        StepRunner<E> runner = ExecutorFault.during("making the objective" + where, () -> new StepRunner<>(model, objective.create(), batchSize, accumulation, seed));
        double[] losses = new double[rates.length];
        int[] counts = new int[rates.length];
        for (var step : mine.entrySet()) {
            int k = (int) (step.getKey() - from), micros = step.getValue().size();
            list.forEach(Tensor::zeroGrad);
            for (var mb : step.getValue().entrySet()) {
                losses[k] += ExecutorFault.during("computing micro-batch " + (mb.getKey() + 1) + " of step " + (step.getKey() + 1) + where,
                        () -> runner.microBatch(mb.getValue(), step.getKey(), mb.getKey(), 1.0 / micros));
            }
            counts[k] = micros;
            StepRunner.clip(params, StepRunner.gradNorm(params), maxGradNorm);
            opt.step(params, rates[k]);
            list.forEach(Tensor::zeroGrad);
        }
        List<INDArray> m = new ArrayList<>(), v = new ArrayList<>();
        Map<String, INDArray> state = opt.state();
        for (String name : params.keySet()) {
            m.add(state.get("m/" + name));
            v.add(state.get("v/" + name));
        }
        FlatTensors values = FlatTensors.values(list);
        return new RoundPart(values, FlatTensors.ofArrays(m, values.isDouble()), FlatTensors.ofArrays(v, values.isDouble()), losses, counts, 1);
    }
}
