package io.peft4j.core.train;

import io.peft4j.core.Fixtures;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainerTest {
    /** A learnable toy language ({@link Fixtures#counting}). */
    static List<Example.Lm> counting(int n, long seed) {
        return Fixtures.counting(n, seed);
    }

    /** Two classes told apart by whether token 7 occurs. */
    static List<Example.Classification> sevens(int n, long seed) {
        var r = new java.util.Random(seed);
        List<Example.Classification> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[6];
            ids[0] = 2;
            for (int j = 1; j < 6; j++) ids[j] = 10 + r.nextInt(80);
            int label = r.nextInt(2);
            if (label == 1) ids[1 + r.nextInt(5)] = 7;
            out.add(new Example.Classification(ids, null, label));
        }
        return out;
    }

    static PeftModel fullGpt2(DataType type) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), type));
        m.unfreezeBase();
        return m;
    }

    static Map<String, INDArray> snapshot(PeftModel m) {
        Map<String, INDArray> s = new LinkedHashMap<>();
        m.trainableParameters().forEach((k, v) -> s.put(k, v.value().dup()));
        return s;
    }

    @Test
    void fullFineTuningDrivesACausalLmLossDown() {
        PeftModel m = fullGpt2(DataType.FLOAT);
        var cfg = TrainingConfig.defaults().withLearningRate(3e-3).withWarmup(10, Schedule.COSINE).withBatchSize(8, 1).withMaxSteps(150);
        TrainingResult r = new Trainer<>(m, Objectives.causalLm(0), cfg).fit(counting(64, 1), null, null);
        double first = r.losses().subList(0, 5).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = r.losses().subList(145, 150).stream().mapToDouble(d -> d).average().orElseThrow();
        assertThat(first).isGreaterThan(4.0);            // about ln(97) at the start
        assertThat(last).isLessThan(1.0);
        assertThat(r.reason()).isEqualTo(TrainingResult.StopReason.COMPLETED);
    }

    @Test
    void aLinearProbeLearnsAClassificationTaskOnAFrozenBase() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        Map<String, INDArray> base = new LinkedHashMap<>();
        m.base().parameters().forEach((k, v) -> base.put(k, v.value().dup()));
        m.setHead(new ClassificationHead(Pooling.MEAN, List.of("no", "yes"), false, 32, 0.0, DataType.FLOAT, 1));
        var cfg = TrainingConfig.defaults().withLearningRate(2e-2).withBatchSize(16, 1).withEpochs(40).withEvaluation(0, 0);
        TrainingResult r = new Trainer<>(m, Objectives.classification(0), cfg).fit(sevens(128, 2), sevens(64, 3), Metric.accuracy(32));
        assertThat(r.bestMetric()).isGreaterThan(0.75);
        m.base().parameters().forEach((k, v) -> assertThat(v.value().equals(base.get(k))).as(k).isTrue());   // frozen: bit-identical
    }

    @Test
    void equalSeedsGiveIdenticalRunsAndGradientAccumulationEqualsABiggerBatch() {
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(4, 1).withMaxSteps(6);
        PeftModel a = fullGpt2(DataType.DOUBLE), b = fullGpt2(DataType.DOUBLE), c = fullGpt2(DataType.DOUBLE);
        TrainingResult ra = new Trainer<>(a, Objectives.causalLm(0.1), cfg).fit(counting(24, 4), null, null);
        TrainingResult rb = new Trainer<>(b, Objectives.causalLm(0.1), cfg).fit(counting(24, 4), null, null);
        assertThat(ra.losses()).isEqualTo(rb.losses());
        Map<String, INDArray> sa = snapshot(a), sb = snapshot(b);
        sa.forEach((k, v) -> assertThat(v.equals(sb.get(k))).as(k).isTrue());
        // 2 micro-batches of 2 make the same step as one batch of 4 when every row has the same token count
        List<Example.Lm> even = new ArrayList<>();
        for (int i = 0; i < 24; i++) even.add(Example.Lm.all(new int[]{1 + i, 2 + i, 3 + i, 4 + i, 5 + i}));
        PeftModel d = fullGpt2(DataType.DOUBLE), e = fullGpt2(DataType.DOUBLE);
        new Trainer<>(d, Objectives.causalLm(0), cfg.withMaxSteps(3)).fit(even, null, null);
        new Trainer<>(e, Objectives.causalLm(0), cfg.withMaxSteps(3).withBatchSize(2, 2)).fit(even, null, null);
        Map<String, INDArray> sd = snapshot(d), se = snapshot(e);
        sd.forEach((k, v) -> assertThat(v.equalsWithEps(se.get(k), 1e-9)).as(k).isTrue());
        assertThat(c).isNotNull();
    }

    @Test
    void resumeFromACheckpointContinuesExactlyAsTheUninterruptedRun(@TempDir Path tmp) {
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withWarmup(3, Schedule.LINEAR).withBatchSize(3, 2).withMaxSteps(12)
                .withWeightDecay(0.01);
        PeftModel whole = fullGpt2(DataType.DOUBLE);
        TrainingResult full = new Trainer<>(whole, Objectives.causalLm(0), cfg).fit(counting(30, 5), null, null);

        PeftModel crashed = fullGpt2(DataType.DOUBLE);
        var withCkpt = cfg.withCheckpoints(tmp.resolve("ckpt"), 4, true);
        assertThatThrownBy(() -> new Trainer<>(crashed, Objectives.causalLm(0), withCkpt).addListener(new TrainingListener() {
            public void onStep(Progress p) {
                if (p.step() == 7) throw new IllegalStateException("simulated crash");
            }
        }).fit(counting(30, 5), null, null)).hasMessageContaining("simulated crash");
        assertThat(Json.read(tmp.resolve("ckpt/last/trainer_state.json")).get("step").asLong()).isEqualTo(4);

        PeftModel resumed = fullGpt2(DataType.DOUBLE);                  // a fresh process: base weights again
        TrainingResult rest = new Trainer<>(resumed, Objectives.causalLm(0), withCkpt).fit(counting(30, 5), null, null);
        assertThat(rest.steps()).isEqualTo(12);
        assertThat(rest.losses()).isEqualTo(full.losses().subList(4, 12));
        Map<String, INDArray> a = snapshot(whole), b = snapshot(resumed);
        a.forEach((k, v) -> assertThat(v.equals(b.get(k))).as(k).isTrue());
    }

    @Test
    void aNonFiniteLossStopsTrainingAndKeepsTheLastGoodCheckpoint(@TempDir Path tmp) {
        PeftModel m = fullGpt2(DataType.FLOAT);
        int[] calls = {0};
        Objective<Example.Lm> lm = Objectives.causalLm(0);
        Objective<Example.Lm> poisoned = (model, batch, ctx) -> {
            Tensor loss = lm.loss(model, batch, ctx);
            return ++calls[0] == 5 ? Ops.mul(loss, Tensor.constant(Nd4j.scalar(DataType.FLOAT, Float.NaN))) : loss;
        };
        List<Map<String, INDArray>> afterStep = new ArrayList<>();
        var cfg = TrainingConfig.defaults().withBatchSize(4, 1).withMaxSteps(10).withCheckpoints(tmp, 2, false);
        TrainingResult r = new Trainer<>(m, poisoned, cfg).addListener(new TrainingListener() {
            public void onStep(Progress p) {
                afterStep.add(snapshot(m));
            }
        }).fit(counting(40, 6), null, null);
        assertThat(r.reason()).isEqualTo(TrainingResult.StopReason.NON_FINITE_LOSS);
        assertThat(r.steps()).isEqualTo(4);
        snapshot(m).forEach((k, v) -> assertThat(v.equals(afterStep.get(3).get(k))).as(k).isTrue());
        assertThat(Json.read(tmp.resolve("last/trainer_state.json")).get("step").asLong()).isEqualTo(4);
        for (var v : io.peft4j.core.io.SafeTensors.readAll(tmp.resolve("last/trainable.safetensors"), DataType.FLOAT).values()) {
            assertThat(v.isNaN().any()).isFalse();
        }
    }

    @Test
    void earlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement() {
        PeftModel m = fullGpt2(DataType.FLOAT);
        Metric<Example.Lm> flat = new Metric<>() {
            public double evaluate(PeftModel model, List<Example.Lm> dev) {
                return 0.5;
            }

            public boolean higherIsBetter() {
                return true;
            }
        };
        List<Long> evals = new ArrayList<>();
        var cfg = TrainingConfig.defaults().withBatchSize(4, 1).withMaxSteps(50).withEvaluation(2, 3);
        TrainingResult r = new Trainer<>(m, Objectives.causalLm(0), cfg).addListener(new TrainingListener() {
            public void onEvaluation(long step, double metric, boolean best) {
                evals.add(step);
            }
        }).fit(counting(40, 7), counting(4, 8), flat);
        assertThat(r.reason()).isEqualTo(TrainingResult.StopReason.EARLY_STOPPED);
        assertThat(evals).containsExactly(2L, 4L, 6L, 8L);            // first sets the best, three more do not improve
        assertThat(r.bestStep()).isEqualTo(2);
    }

    @Test
    void clippingScalesTheGlobalGradientNormDownToTheLimitAndTrainingUsesIt() {
        // gradients g_w = (3, -4) and g_b = (2 · 6) (b is added to both of w's elements): global norm 13
        Tensor w = Tensor.parameter(Nd4j.create(new double[][]{{1.0, 1.0}}));
        Tensor b = Tensor.parameter(Nd4j.create(new double[]{1.0}));
        Tensor frozen = Tensor.constant(Nd4j.create(new double[]{5.0}));
        Ops.sum(Ops.add(Ops.mul(w, Tensor.constant(Nd4j.create(new double[][]{{3.0, -4.0}}))), Ops.scale(b, 6))).backward();
        Map<String, Tensor> params = new LinkedHashMap<>(Map.of("w", w, "b", b, "frozen", frozen));
        assertThat(StepRunner.gradNorm(params)).isCloseTo(13.0, org.assertj.core.data.Offset.offset(1e-12));
        StepRunner.clip(params, 13.0, 20.0);                                    // under the limit: untouched
        assertThat(w.grad().toDoubleVector()).containsExactly(3.0, -4.0);
        StepRunner.clip(params, 13.0, 0.0);                                     // 0 = no clipping
        assertThat(b.grad().getDouble(0)).isEqualTo(12.0);
        StepRunner.clip(params, 13.0, 2.6);                                     // factor 2.6 / (13 + 1e-6)
        double c = 2.6 / (13.0 + 1e-6);
        assertThat(w.grad().toDoubleVector()).containsExactly(new double[]{3 * c, -4 * c}, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(b.grad().getDouble(0)).isCloseTo(12 * c, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(StepRunner.gradNorm(params)).isCloseTo(2.6, org.assertj.core.data.Offset.offset(1e-6));

        // in training: the listener sees the norm before clipping; a limit above every norm changes nothing,
        // one below it changes the run (AdamW's first step does not depend on the gradient's scale; later ones do)
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(4, 1).withMaxSteps(4);
        List<Double> normsOff = new ArrayList<>(), normsClipped = new ArrayList<>();
        PeftModel off = fullGpt2(DataType.DOUBLE), high = fullGpt2(DataType.DOUBLE), low = fullGpt2(DataType.DOUBLE);
        new Trainer<>(off, Objectives.causalLm(0), cfg.withMaxGradNorm(0)).addListener(norms(normsOff)).fit(counting(16, 5), null, null);
        new Trainer<>(high, Objectives.causalLm(0), cfg.withMaxGradNorm(1e9)).fit(counting(16, 5), null, null);
        new Trainer<>(low, Objectives.causalLm(0), cfg.withMaxGradNorm(1e-3)).addListener(norms(normsClipped)).fit(counting(16, 5), null, null);
        assertThat(normsClipped.get(0)).isEqualTo(normsOff.get(0)).isGreaterThan(1e-3);
        Map<String, INDArray> sOff = snapshot(off), sHigh = snapshot(high), sLow = snapshot(low);
        sOff.forEach((k, v) -> assertThat(v.equals(sHigh.get(k))).as(k).isTrue());
        assertThat(sOff.keySet().stream().filter(k -> !sOff.get(k).equalsWithEps(sLow.get(k), 1e-9)).count()).isGreaterThan(0);
    }

    private static TrainingListener norms(List<Double> into) {
        return new TrainingListener() {
            @Override
            public void onStep(Progress p) {
                into.add(p.gradNorm());
            }
        };
    }

    @Test
    void schedulesAndAdamWFollowTheirDefinitions() {
        assertThat(Schedule.LINEAR.factor(0, 4, 104)).isEqualTo(0.25);
        assertThat(Schedule.LINEAR.factor(3, 4, 104)).isEqualTo(1.0);
        assertThat(Schedule.LINEAR.factor(54, 4, 104)).isEqualTo(0.5);
        assertThat(Schedule.COSINE.factor(54, 4, 104)).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Schedule.COSINE.factor(4 + 25, 4, 104)).isCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Schedule.CONSTANT.factor(90, 4, 104)).isEqualTo(1.0);
        // first AdamW step: m̂ = g, v̂ = g², so p -= lr·g/(|g| + ε) after decay p *= (1 - lr·λ)
        Tensor w = Tensor.parameter(Nd4j.create(new double[][]{{1.0, -2.0}}));
        Tensor b = Tensor.parameter(Nd4j.create(new double[]{0.5}));
        Ops.sum(Ops.add(Ops.mul(w, Tensor.constant(Nd4j.create(new double[][]{{3.0, -0.5}}))), b)).backward();
        new AdamW(0.9, 0.999, 1e-8, 0.1).step(Map.of("w", w, "b", b), 0.01);
        assertThat(w.value().getDouble(0, 0)).isCloseTo(1.0 * (1 - 0.001) - 0.01 * 3 / (3 + 1e-8), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(w.value().getDouble(0, 1)).isCloseTo(-2.0 * (1 - 0.001) + 0.01 * 0.5 / (0.5 + 1e-8), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(b.value().getDouble(0)).isCloseTo(0.5 - 0.01, org.assertj.core.data.Offset.offset(1e-9));   // vectors are not decayed
    }

    @Test
    void resumingWithAnotherSeedIsRefused(@TempDir Path tmp) throws Exception {
        var cfg = TrainingConfig.defaults().withBatchSize(4, 1).withMaxSteps(2).withCheckpoints(tmp, 1, true);
        new Trainer<>(fullGpt2(DataType.FLOAT), Objectives.causalLm(0), cfg).fit(counting(8, 9), null, null);
        assertThat(Files.exists(tmp.resolve("last/optimizer.safetensors"))).isTrue();
        assertThatThrownBy(() -> new Trainer<>(fullGpt2(DataType.FLOAT), Objectives.causalLm(0), cfg.withSeed(7).withMaxSteps(4))
                .fit(counting(8, 9), null, null)).hasMessageContaining("trainer_state.json").hasMessageContaining("seed");
    }

    @Test
    void aCheckpointPastTheRunIsRefusedBeforeTheModelIsTouched(@TempDir Path tmp) {
        var cfg = TrainingConfig.defaults().withBatchSize(4, 1).withMaxSteps(4).withCheckpoints(tmp, 1, true);
        new Trainer<>(fullGpt2(DataType.FLOAT), Objectives.causalLm(0), cfg).fit(counting(8, 9), null, null);
        PeftModel fresh = fullGpt2(DataType.FLOAT);
        Map<String, INDArray> before = snapshot(fresh);
        assertThatThrownBy(() -> new Trainer<>(fresh, Objectives.causalLm(0), cfg.withMaxSteps(2)).fit(counting(8, 9), null, null))
                .hasMessageContaining("trainer_state.json").hasMessageContaining("step 4").hasMessageContaining("2 steps");
        snapshot(fresh).forEach((k, v) -> assertThat(v.equals(before.get(k))).as(k + " untouched").isTrue());
    }

    @Test
    void resumingOnAnotherNumberOfExamplesIsRefusedAndAnOlderCheckpointWithoutTheCountResumes(@TempDir Path tmp) throws Exception {
        var cfg = TrainingConfig.defaults().withBatchSize(4, 1).withMaxSteps(2).withCheckpoints(tmp, 1, true);
        new Trainer<>(fullGpt2(DataType.FLOAT), Objectives.causalLm(0), cfg).fit(counting(8, 9), null, null);
        Path state = tmp.resolve("last/trainer_state.json");
        assertThat(Json.read(state).get("examples").asLong()).isEqualTo(8);

        PeftModel other = fullGpt2(DataType.FLOAT);
        Map<String, INDArray> before = snapshot(other);
        assertThatThrownBy(() -> new Trainer<>(other, Objectives.causalLm(0), cfg.withMaxSteps(4)).fit(counting(12, 9), null, null))
                .hasMessageContaining("trainer_state.json").hasMessageContaining("8 examples").hasMessageContaining("12");
        snapshot(other).forEach((k, v) -> assertThat(v.equals(before.get(k))).as(k + " untouched").isTrue());

        // a checkpoint written before the count was recorded resumes as before
        com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(state);
        old.remove("examples");
        Json.write(state, old);
        TrainingResult r = new Trainer<>(fullGpt2(DataType.FLOAT), Objectives.causalLm(0), cfg.withMaxSteps(4)).fit(counting(8, 9), null, null);
        assertThat(r.steps()).isEqualTo(4);
        assertThat(r.losses()).hasSize(2);
    }
}
