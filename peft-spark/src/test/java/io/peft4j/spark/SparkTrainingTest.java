package io.peft4j.spark;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.train.Checkpoints;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objective;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import org.apache.spark.TaskContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Data-parallel training against the single-process {@link Trainer}: LoRA (with dropout) on gpt2-tiny in float64, 22
 * examples in steps of 3 micro-batches of 2 (the last step of an epoch 2 micro-batches), 6 steps across an epoch boundary.
 *
 * <p>Tolerance: the distributed step's gradient is the same micro-batch gradients (bit for bit: same examples, same
 * dropout seeds, same float64 arithmetic) summed in another order: per partition, then across partitions in the order
 * their results arrive. Re-associating a sum of 3 terms changes it by a few units in the last place (2^-52 relative,
 * about 2e-16). AdamW divides each gradient by its running RMS, which keeps a relative difference relative; only where
 * the exact gradient is 0 and the computed one is rounding noise (a GPT-2 key bias under full fine-tuning: softmax ignores
 * it) does it divide noise of about 1e-17 by its epsilon 1e-8, moving the parameter by up to lr × 1e-9 = 1e-11 a step.
 * The tests assert 1e-10 over 6 steps at learning rate 1e-2: above both, and far below what any real difference makes (a
 * wrong micro-batch, dropout mask, scale or step moves parameters by 1e-4 or more in one step at this rate). Measured:
 * 0 with 1 and 4 partitions, about 1e-16 with 2.
 */
class SparkTrainingTest {
    static final double TOLERANCE = 1e-10;
    static final Path GPT2 = Fixtures.dir("gpt2-tiny");
    static final TrainingConfig CFG = TrainingConfig.defaults().withLearningRate(1e-2).withWeightDecay(0.01).withWarmup(2, Schedule.LINEAR)
            .withMaxGradNorm(1.0).withBatchSize(2, 3).withMaxSteps(6).withSeed(11);
    static final List<Example.Lm> DATA = counting(22, 5);

    static Map<String, INDArray> reference;
    static List<Double> referenceLosses;

    @BeforeAll
    static void singleProcess() {
        TestSpark.session();
        PeftModel m = lora();
        TrainingResult r = new Trainer<>(m, Objectives.causalLm(0.1), CFG).fit(DATA, null, null);
        reference = snapshot(m);
        referenceLosses = r.losses();
        assertThat(r.steps()).isEqualTo(6);
    }

    /** A learnable toy language ({@link Fixtures#counting}). */
    static List<Example.Lm> counting(int n, long seed) {
        return Fixtures.counting(n, seed);
    }

    /** gpt2-tiny in float64 with LoRA r 4 (dropout 0.1, so the dropout seeds must line up) on c_attn. */
    static PeftModel lora() {
        PeftModel m = PeftModel.of(Models.load(GPT2, DataType.DOUBLE));
        m.add("default", LoraConfig.defaults().withR(4).withTargetModules("c_attn").withDropout(0.1), 3);
        return m;
    }

    static Map<String, INDArray> snapshot(PeftModel m) {
        Map<String, INDArray> s = new LinkedHashMap<>();
        m.trainableParameters().forEach((k, v) -> s.put(k, v.value().dup()));
        return s;
    }

    /** The largest difference of any parameter from the single-process run's. */
    static double maxDifference(Map<String, INDArray> a) {
        assertThat(a.keySet()).isEqualTo(reference.keySet());
        double worst = 0;
        for (var e : reference.entrySet()) worst = Math.max(worst, e.getValue().sub(a.get(e.getKey())).amaxNumber().doubleValue());
        return worst;
    }

    static SparkTrainer<Example.Lm> trainer(PeftModel m, ObjectiveFactory<Example.Lm> objective, TrainingConfig cfg, int partitions) {
        return new SparkTrainer<>(TestSpark.session(), m, GPT2, objective, cfg).partitions(partitions);
    }

    @Test
    void oneTwoAndFourPartitionsTrainAsTheSingleProcessDoes() {
        long built = ExecutorCache.built();
        int[][] runs = {{1, 1}, {2, 3}, {4, 30}};                          // {partitions, input partitions}: 30 leaves some empty
        for (int[] run : runs) {
            PeftModel m = lora();
            SparkTrainer<Example.Lm> t = trainer(m, ObjectiveFactory.causalLm(0.1), CFG, run[0]);
            TrainingResult r = t.fit(TestSpark.jsc().parallelize(DATA, run[1]));
            assertThat(r.steps()).isEqualTo(6);
            double diff = maxDifference(snapshot(m));
            System.out.printf("partitions %d: max |parameter difference| %.3g%n", run[0], diff);
            assertThat(diff).as("partitions " + run[0]).isLessThanOrEqualTo(TOLERANCE);
            for (int i = 0; i < 6; i++) assertThat(r.losses().get(i)).isCloseTo(referenceLosses.get(i), org.assertj.core.data.Offset.offset(1e-12));
            long trainable = m.parameterCount().trainable();
            assertThat(t.broadcastBytesPerStep()).isEqualTo(8 * trainable);   // the adapter's values only, never the base
            assertThat(t.gradientBytesPerStep()).isEqualTo(8 * trainable);
        }
        assertThat(ExecutorCache.built() - built).as("models built: once per task slot, not per task").isLessThanOrEqualTo(2);
    }

    /**
     * Local steps with averaging: over one partition it is the single-process algorithm exactly; over two it trains (the
     * loss falls) but is another algorithm, whose parameters differ from the single process's, and it resumes exactly.
     */
    @Test
    void localStepsWithAveragingAreTheSingleProcessOnOnePartitionAndAnotherAlgorithmOnTwo(@TempDir Path tmp) {
        PeftModel one = lora();
        TrainingResult r1 = trainer(one, ObjectiveFactory.causalLm(0.1), CFG, 1).averageEvery(3).fit(TestSpark.jsc().parallelize(DATA, 2));
        assertThat(r1.steps()).isEqualTo(6);
        assertThat(maxDifference(snapshot(one))).isLessThanOrEqualTo(TOLERANCE);
        for (int i = 0; i < 6; i++) assertThat(r1.losses().get(i)).isCloseTo(referenceLosses.get(i), org.assertj.core.data.Offset.offset(1e-12));

        TrainingConfig cfg = CFG.withCheckpoints(tmp, 2, true);
        PeftModel two = lora();
        TrainingResult r2 = trainer(two, ObjectiveFactory.causalLm(0.1), cfg, 2).averageEvery(2).fit(TestSpark.jsc().parallelize(DATA, 2));
        assertThat(r2.steps()).isEqualTo(6);
        assertThat(r2.losses()).allSatisfy(l -> assertThat(l).isFinite());
        assertThat(maxDifference(snapshot(two))).isGreaterThan(1e-6);
        Map<String, INDArray> after = snapshot(two);

        // a driver that crashes after step 4's checkpoint, restarted, ends where the whole run did
        TrainingConfig crashCfg = cfg.withCheckpoints(tmp.resolve("crashed"), 2, true);
        PeftModel part = lora();
        var crashing = trainer(part, ObjectiveFactory.causalLm(0.1), crashCfg, 2).averageEvery(2).addListener(new TrainingListener() {
            public void onCheckpoint(long step, Path dir) {
                if (step == 4) throw new IllegalStateException("simulated driver crash");
            }
        });
        assertThatThrownBy(() -> crashing.fit(TestSpark.jsc().parallelize(DATA, 2))).hasMessageContaining("simulated driver crash");
        // a restart on another number of examples would move the epochs' boundaries: refused, the checkpoint left as it is
        assertThatThrownBy(() -> trainer(lora(), ObjectiveFactory.causalLm(0.1), crashCfg, 2).averageEvery(2)
                .fit(TestSpark.jsc().parallelize(DATA.subList(1, DATA.size()), 2))).hasMessageContaining("trainer_state.json")
                .hasMessageContaining(DATA.size() + " examples").hasMessageContaining(String.valueOf(DATA.size() - 1));
        PeftModel resumed = lora();
        trainer(resumed, ObjectiveFactory.causalLm(0.1), crashCfg, 2).averageEvery(2).fit(TestSpark.jsc().parallelize(DATA, 2));
        Map<String, INDArray> b = snapshot(resumed);
        after.forEach((k, v) -> assertThat(v.sub(b.get(k)).amaxNumber().doubleValue()).as(k).isLessThanOrEqualTo(TOLERANCE));
    }

    // ------------------------------------------------------------------ faults

    /** Set by the driver's listener: the steps completed, so a task knows which step it is in (local mode: one JVM). */
    static volatile long completed;
    static final AtomicBoolean ARMED = new AtomicBoolean(), POISONED = new AtomicBoolean();
    static final AtomicInteger FAILURES = new AtomicInteger();
    static final Map<Long, Integer> CALLS = new ConcurrentHashMap<>();

    static final TrainingListener COUNTING = new TrainingListener() {
        public void onStep(Progress p) {
            completed = p.step();
        }
    };

    /**
     * The causal-LM objective, failing in step {@code step} (0-based) on partition {@code partition}: once, at the first
     * attempt's second micro-batch (after the first has added its gradient) while {@link #ARMED}; at every attempt while
     * {@link #POISONED}.
     */
    static ObjectiveFactory<Example.Lm> failing(long step, int partition) {
        return () -> {
            Objective<Example.Lm> inner = Objectives.causalLm(0.1);
            return (model, batch, ctx) -> {
                TaskContext tc = TaskContext.get();
                if (tc != null && completed == step && tc.partitionId() == partition) {
                    int call = CALLS.merge(tc.taskAttemptId(), 1, Integer::sum);
                    if (POISONED.get() || call == 2 && tc.attemptNumber() == 0 && ARMED.compareAndSet(true, false)) {
                        FAILURES.incrementAndGet();
                        throw new IllegalStateException("injected failure");
                    }
                }
                return inner.loss(model, batch, ctx);
            };
        };
    }

    @Test
    void aFailedTaskIsRetriedAndTheStepIsUnchanged() {
        completed = 0;
        FAILURES.set(0);
        ARMED.set(true);
        PeftModel m = lora();
        trainer(m, failing(2, 0), CFG, 2).addListener(COUNTING).fit(TestSpark.jsc().parallelize(DATA, 2));
        assertThat(FAILURES.get()).isEqualTo(1);
        assertThat(ARMED.get()).isFalse();
        assertThat(maxDifference(snapshot(m))).isLessThanOrEqualTo(TOLERANCE);
    }

    @Test
    void aJobThatFailsKeepsTheLastCheckpointAndARestartResumesExactly(@TempDir Path tmp) throws Exception {
        TrainingConfig cfg = CFG.withCheckpoints(tmp, 2, true);
        completed = 0;
        FAILURES.set(0);
        POISONED.set(true);
        try {
            PeftModel crashed = lora();
            assertThatThrownBy(() -> trainer(crashed, failing(3, 1), cfg, 2).addListener(COUNTING).fit(TestSpark.jsc().parallelize(DATA, 2)))
                    .isInstanceOf(PeftSparkException.class)
                    .hasMessageContaining("step 4 of 6: computing the gradients on the executors")
                    .hasMessageContaining("computing micro-batch 2 of 2 of step 4 (executor driver, partition 1): injected failure")
                    .hasMessageContaining("injected failure")
                    .hasMessageContaining("failed 3 times");
        } finally {
            POISONED.set(false);
        }
        assertThat(FAILURES.get()).isEqualTo(3);
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("last");   // no half-written sibling
        }
        assertThat(Checkpoints.readState(tmp.resolve("last")).path("step").asLong()).isEqualTo(2);

        completed = 0;
        PeftModel resumed = lora();
        TrainingResult rest = trainer(resumed, ObjectiveFactory.causalLm(0.1), cfg, 2).fit(TestSpark.jsc().parallelize(DATA, 2));
        assertThat(rest.steps()).isEqualTo(6);
        assertThat(rest.losses()).hasSize(4);
        assertThat(maxDifference(snapshot(resumed))).isLessThanOrEqualTo(TOLERANCE);
        assertThat(Checkpoints.readState(tmp.resolve("last")).path("step").asLong()).isEqualTo(6);
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void aModelDirectoryTheExecutorsCannotReadFailsNamingTheStageAndWritesNoCheckpoint(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-model");
        var t = new SparkTrainer<>(TestSpark.session(), lora(), missing, ObjectiveFactory.causalLm(0.1), CFG.withCheckpoints(tmp.resolve("ckpt"), 1, false));
        assertThatThrownBy(() -> t.fit(TestSpark.jsc().parallelize(DATA, 2)))
                .isInstanceOf(PeftSparkException.class)
                .hasMessageContaining("step 1 of 6: computing the gradients on the executors, loading the base model from " + missing)
                .hasMessageContaining("not a model directory");
        assertThat(tmp.resolve("ckpt")).doesNotExist();
    }

    @Test
    void anExecutorBaseOtherThanTheDriversIsRefused() {
        var t = new SparkTrainer<>(TestSpark.session(), lora(), Fixtures.dir("llama-tiny"), ObjectiveFactory.causalLm(0.1), CFG);
        assertThatThrownBy(() -> t.fit(TestSpark.jsc().parallelize(DATA, 2)))
                .isInstanceOf(PeftSparkException.class)
                .hasMessageContaining("checking the executor's base model against the driver's")
                .hasMessageContaining("is a llama").hasMessageContaining("the driver's is a gpt2");
    }

    /** An executor whose adapters come out other than the driver's (another config, another method version) is refused by name. */
    @Test
    void adaptersOtherThanTheDriversAreRefusedNamingTheTensor() {
        ModelSpec spec = ModelSpec.of(lora(), GPT2);
        PeftModel r8 = PeftModel.of(Models.load(GPT2, DataType.DOUBLE));
        r8.add("default", LoraConfig.defaults().withR(8).withTargetModules("c_attn"));
        assertThatThrownBy(() -> spec.checkAgainstDriver(r8.trainableParameters()))
                .hasMessageContaining("trainable tensor 'adapter/default/h.0.attn.c_attn.lora_A.weight' has shape [8, 32] here and [4, 32] on the driver");
        PeftModel renamed = PeftModel.of(Models.load(GPT2, DataType.DOUBLE));
        renamed.add("other", LoraConfig.defaults().withR(4).withTargetModules("c_attn"));
        assertThatThrownBy(() -> spec.checkAgainstDriver(renamed.trainableParameters()))
                .hasMessageContaining("other trainable tensors than the driver's: missing [adapter/default/");
        assertThat(ModelSpec.of(r8, GPT2).key()).isNotEqualTo(spec.key());      // executors cache the two apart
        spec.checkAgainstDriver(spec.build(" (here)").trainableParameters());    // the driver's own configs rebuild its tensors
    }

    @Test
    void anEmptyDataSetIsAnError() {
        var t = trainer(lora(), ObjectiveFactory.causalLm(0.1), CFG, 2);
        assertThatThrownBy(() -> t.fit(TestSpark.jsc().parallelize(List.<Example.Lm>of(), 3)))
                .isInstanceOf(PeftSparkException.class)
                .hasMessage("reading the training examples: no training examples: all 3 partitions of the data set are empty");
    }

    @Test
    void aNonSerializableObjectiveIsRefusedBeforeAnyJob() {
        Object notSerializable = new Object();
        ObjectiveFactory<Example.Lm> f = () -> {
            notSerializable.hashCode();
            return Objectives.causalLm(0);
        };
        assertThatThrownBy(() -> trainer(lora(), f, CFG, 2))
                .isInstanceOf(PeftSparkException.class)
                .hasMessageStartingWith("shipping the objective factory to the executors: the objective factory")
                .hasMessageContaining("not serializable: it holds a java.lang.Object");
    }
}
