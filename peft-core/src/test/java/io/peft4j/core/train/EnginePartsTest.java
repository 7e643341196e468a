package io.peft4j.core.train;

import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.peft4j.core.train.TrainerTest.counting;
import static io.peft4j.core.train.TrainerTest.fullGpt2;
import static io.peft4j.core.train.TrainerTest.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The trainer's parts on their own: a step's gradients split across processes, streamed examples, resume on a stream. */
class EnginePartsTest {

    /**
     * What a data-parallel driver does: micro-batches of one step run separately (in any order, each in a "process" that
     * starts with cleared gradients) and summed equal the single-process step's gradients.
     */
    @Test
    void microBatchesRunApartAndSummedGiveTheStepsGradients() {
        var cfg = TrainingConfig.defaults().withBatchSize(3, 3).withSeed(7);
        PeftModel m = fullGpt2(DataType.DOUBLE);
        StepRunner<Example.Lm> runner = new StepRunner<>(m, Objectives.causalLm(0.1), cfg);   // dropout: seeds must line up
        Map<String, Tensor> params = m.trainableParameters();
        List<Example.Lm> step = counting(8, 11);                                          // 3 micro-batches: 3, 3, 2
        double loss = runner.gradients(params, step, 5);
        Map<String, INDArray> whole = grads(params);

        Map<String, INDArray> sum = new LinkedHashMap<>();
        double lossSum = 0;
        int micros = runner.microBatches(step.size());
        assertThat(micros).isEqualTo(3);
        for (int mb = micros - 1; mb >= 0; mb--) {
            params.values().forEach(Tensor::zeroGrad);
            lossSum += runner.microBatch(runner.part(step, mb), 5, mb, 1.0 / micros);
            grads(params).forEach((k, g) -> sum.merge(k, g, INDArray::add));
        }
        assertThat(lossSum / micros).isCloseTo(loss, org.assertj.core.data.Offset.offset(1e-12));
        whole.forEach((k, g) -> assertThat(g.equalsWithEps(sum.get(k), 1e-12)).as(k).isTrue());
    }

    /**
     * The loop with its step gradients computed elsewhere ({@link Trainer#fit(long, Trainer.StepGradients, List, Metric)}), as a
     * data-parallel driver computes them: each micro-batch apart from the step's examples by their indices in the epoch's
     * {@link ExampleSource#order}, the sum set with {@link Tensor#setGrad}. The run equals {@code fit(List)}'s.
     */
    @Test
    void stepGradientsComputedElsewhereTrainAsTheLoopDoes() {
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(2, 2).withMaxSteps(5).withSeed(3);   // 3 steps an epoch: 4, 4, 2
        List<Example.Lm> data = counting(10, 2);
        PeftModel single = fullGpt2(DataType.DOUBLE);
        TrainingResult expected = new Trainer<>(single, Objectives.causalLm(0.1), cfg).fit(data, null, null);

        PeftModel driver = fullGpt2(DataType.DOUBLE), worker = fullGpt2(DataType.DOUBLE);
        StepRunner<Example.Lm> runner = new StepRunner<>(worker, Objectives.causalLm(0.1), cfg);
        Trainer<Example.Lm> trainer = new Trainer<>(driver, Objectives.causalLm(0.1), cfg);
        TrainingResult r = trainer.fit(data.size(), (params, step, plan) -> {
            Map<String, Tensor> w = worker.trainableParameters();
            params.forEach((k, p) -> w.get(k).value().assign(p.value()));                // the "broadcast"
            int[] order = ExampleSource.order(data.size(), cfg.seed(), plan.epoch(step));
            List<Example.Lm> stepExamples = new ArrayList<>();
            for (int i = 0; i < plan.stepSize(step); i++) stepExamples.add(data.get(order[(int) plan.firstPosition(step) + i]));
            int micros = runner.microBatches(stepExamples.size());
            Map<String, INDArray> sum = new LinkedHashMap<>();
            double loss = 0;
            for (int mb = 0; mb < micros; mb++) {
                w.values().forEach(Tensor::zeroGrad);
                loss += runner.microBatch(runner.part(stepExamples, mb), step, mb, 1.0 / micros);
                grads(w).forEach((k, g) -> sum.merge(k, g, INDArray::add));
            }
            params.forEach((k, p) -> p.setGrad(sum.get(k)));
            return loss / micros;
        }, null, null);
        assertThat(r.losses()).hasSize(5);
        for (int i = 0; i < 5; i++) assertThat(r.losses().get(i)).isCloseTo(expected.losses().get(i), org.assertj.core.data.Offset.offset(1e-12));
        Map<String, INDArray> a = snapshot(single), b = snapshot(driver);
        // the sums differ in rounding only; a key bias's exact gradient is 0 (softmax ignores it), so AdamW divides rounding
        // noise (1e-17) by its epsilon (1e-8): lr 1e-2 × 1e-17 / 1e-8 = 1e-11 a step
        a.forEach((k, v) -> assertThat(v.sub(b.get(k)).amaxNumber().doubleValue()).as(k).isLessThan(1e-10));
    }

    @Test
    void aShuffleBufferGivesEveryExampleOnceInASeededOrderHoldingAtMostItsSize() {
        int n = 1000, buffer = 64;
        int[] pulled = {0};
        java.util.function.Supplier<Iterator<Integer>> open = () -> new Iterator<>() {
            int i;

            public boolean hasNext() {
                return i < n;
            }

            public Integer next() {
                pulled[0]++;
                return i++;
            }
        };
        ExampleSource<Integer> src = ExampleSource.streaming(open, buffer, 3);
        assertThat(src.size()).isEqualTo(n);
        pulled[0] = 0;
        List<Integer> e0 = new ArrayList<>();
        for (Iterator<Integer> it = src.epoch(0); it.hasNext(); ) {
            e0.add(it.next());
            assertThat(pulled[0] - e0.size()).isLessThanOrEqualTo(buffer);          // never more than the buffer ahead
        }
        assertThat(e0).containsExactlyInAnyOrderElementsOf(IntStream.range(0, n).boxed().toList());
        assertThat(e0).isNotEqualTo(IntStream.range(0, n).boxed().toList());
        assertThat(list(src.epoch(0))).isEqualTo(e0);                                // same seed and epoch: same order
        assertThat(list(src.epoch(1))).isNotEqualTo(e0);
        assertThat(list(ExampleSource.streaming(open, 1, 3).epoch(0))).isEqualTo(IntStream.range(0, n).boxed().toList());
        assertThatThrownBy(() -> ExampleSource.streaming(open, 0, 3)).hasMessageContaining("buffer");
    }

    @Test
    void aListSourceKeepsTheTrainersOrder() {
        List<Integer> xs = IntStream.range(0, 50).boxed().toList();
        List<Integer> idx = new ArrayList<>(xs);
        java.util.Collections.shuffle(idx, new java.util.Random(9L * 31 + 2));       // the permutation fit(List) has always drawn
        assertThat(list(ExampleSource.of(xs, 9).epoch(2))).isEqualTo(idx);
    }

    /** Training from a stream: a crash and a resume from the checkpoint continue exactly as the uninterrupted run. */
    @Test
    void aStreamedRunResumesExactly(@TempDir Path tmp) {
        List<Example.Lm> data = counting(30, 5);
        ExampleSource<Example.Lm> stream = ExampleSource.streaming(data::iterator, 8, 1);
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(3, 2).withMaxSteps(12);   // 5 steps an epoch
        PeftModel whole = fullGpt2(DataType.DOUBLE);
        TrainingResult full = new Trainer<>(whole, Objectives.causalLm(0), cfg).fit(stream, null, null);

        var withCkpt = cfg.withCheckpoints(tmp, 7, true);
        PeftModel crashed = fullGpt2(DataType.DOUBLE);
        assertThatThrownBy(() -> new Trainer<>(crashed, Objectives.causalLm(0), withCkpt).addListener(new TrainingListener() {
            public void onStep(Progress p) {
                if (p.step() == 9) throw new IllegalStateException("simulated crash");
            }
        }).fit(stream, null, null)).hasMessageContaining("simulated crash");
        PeftModel resumed = fullGpt2(DataType.DOUBLE);                        // resumes at step 7: mid-way through epoch 1
        TrainingResult rest = new Trainer<>(resumed, Objectives.causalLm(0), withCkpt).fit(stream, null, null);
        assertThat(rest.losses()).isEqualTo(full.losses().subList(7, 12));
        Map<String, INDArray> a = snapshot(whole), b = snapshot(resumed);
        a.forEach((k, v) -> assertThat(v.equals(b.get(k))).as(k).isTrue());
    }

    private static Map<String, INDArray> grads(Map<String, Tensor> params) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        params.forEach((k, t) -> {
            if (t.grad() != null) out.put(k, t.grad().dup());
        });
        return out;
    }

    private static <T> List<T> list(Iterator<T> it) {
        List<T> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
