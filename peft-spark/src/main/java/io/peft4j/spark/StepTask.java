package io.peft4j.spark;

import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.StepRunner;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One partition's share of a step, on an executor: its micro-batches of the step (none: it returns nothing), run in
 * micro-batch order on a cached copy of the model that holds the step's broadcast parameters, with dropout seeded as the
 * single process seeds it; returns their gradient and loss sums.
 */
final class StepTask<E> implements FlatMapFunction<Iterator<Tuple2<MicroBatches.Key, List<E>>>, StepPart> {
    private final Broadcast<ModelSpec> spec;
    private final Broadcast<FlatTensors> values;
    private final ObjectiveFactory<E> objective;
    private final int batchSize, accumulation, microBatches;
    private final long seed, step;

    StepTask(Broadcast<ModelSpec> spec, Broadcast<FlatTensors> values, ObjectiveFactory<E> objective, int batchSize, int accumulation,
             long seed, long step, int microBatches) {
        this.spec = spec;
        this.values = values;
        this.objective = objective;
        this.batchSize = batchSize;
        this.accumulation = accumulation;
        this.seed = seed;
        this.step = step;
        this.microBatches = microBatches;
    }

    @Override
    public Iterator<StepPart> call(Iterator<Tuple2<MicroBatches.Key, List<E>>> it) {
        TreeMap<Integer, List<E>> mine = new TreeMap<>();
        while (it.hasNext()) {
            Tuple2<MicroBatches.Key, List<E>> t = it.next();
            if (t._1().step() == step) mine.put(t._1().mb(), t._2());
        }
        if (mine.isEmpty()) return Collections.emptyIterator();
        return Collections.singletonList(run(mine)).iterator();
    }

    private StepPart run(TreeMap<Integer, List<E>> mine) {
        String where = " (executor " + SparkEnv.get().executorId() + ", partition " + TaskContext.getPartitionId() + ")";
        ModelSpec s = spec.value();
        PeftModel model = ExecutorFault.during("loading the base model from " + s.modelDir() + where, () -> ExecutorCache.borrow(s.key(), () -> s.build(where)));
        StepPart part = compute(model, mine, where);
        ExecutorCache.giveBack(s.key(), model);           // only a model whose task succeeded goes back
        return part;
    }

    private StepPart compute(PeftModel model, TreeMap<Integer, List<E>> mine, String where) {
        List<Tensor> params = new ArrayList<>(model.trainableParameters().values());
        ExecutorFault.during("setting the step's parameters" + where, () -> {
            values.value().copyInto(params);
            return null;
        });
        StepRunner<E> runner = ExecutorFault.during("making the objective" + where,
                () -> new StepRunner<>(model, objective.create(), batchSize, accumulation, seed));
        params.forEach(Tensor::zeroGrad);
        double loss = 0;
        for (Map.Entry<Integer, List<E>> e : mine.entrySet()) {
            loss += ExecutorFault.during("computing micro-batch " + (e.getKey() + 1) + " of " + microBatches + " of step " + (step + 1) + where,
                    () -> runner.microBatch(e.getValue(), step, e.getKey(), 1.0 / microBatches));
        }
        StepPart part = new StepPart(FlatTensors.grads(params), loss, mine.size());
        params.forEach(Tensor::zeroGrad);
        return part;
    }
}
