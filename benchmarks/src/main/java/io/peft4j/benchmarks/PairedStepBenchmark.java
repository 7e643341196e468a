package io.peft4j.benchmarks;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PEFT method's training step and full fine-tuning's, timed side by side in one fork: each iteration runs
 * one step of each ({@link TrainStepBenchmark#step}, each on its own BERT-base), in alternating order, so the
 * two times of a pair are seconds apart under the same machine load. {@link TrainStepBenchmark} times the
 * methods in separate forks, minutes apart, where the load of a shared machine moves the ratio of two
 * medians by more than the methods differ. Each measured pair's times (ns, full first) go to
 * {@code paired-<method>.txt}; the report gives the median over the pairs of method / full. Memory is not
 * measured here: the fork holds both models.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = PairedStepBenchmark.WARMUPS)
@Measurement(iterations = PairedStepBenchmark.MEASURED)
@Fork(value = 1, jvmArgs = {"-Xms64m", "-Xmx1g"})
public class PairedStepBenchmark {
    /** Warm-up pairs: each runs two steps, so the JIT has seen as many as {@link TrainStepBenchmark}'s warm-up. */
    static final int WARMUPS = 5;

    /** Measured pairs. */
    static final int MEASURED = 9;

    @Param({"lora", "ia3", "prompt", "ptuning", "prefix", "houlsby", "pfeiffer", "parallel", "parallel16"})
    public String method;

    private TrainStepBenchmark full, peft;
    private final List<long[]> pairs = new ArrayList<>();

    @Setup
    public void setup() {
        full = new TrainStepBenchmark();
        full.method = "full";
        full.setup();
        peft = new TrainStepBenchmark();
        peft.method = method;
        peft.setup();
    }

    /** One step of each, full fine-tuning first in even iterations and second in odd ones. */
    @Benchmark
    public long pair() {
        boolean fullFirst = pairs.size() % 2 == 0;
        long first = time(fullFirst ? full : peft), second = time(fullFirst ? peft : full);
        pairs.add(fullFirst ? new long[]{first, second} : new long[]{second, first});
        return first + second;
    }

    private static long time(TrainStepBenchmark b) {
        long t0 = System.nanoTime();
        b.step();
        return System.nanoTime() - t0;
    }

    @TearDown(Level.Trial)
    public void record() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = WARMUPS; i < pairs.size(); i++) lines.add(pairs.get(i)[0] + " " + pairs.get(i)[1]);
        Files.writeString(TrainStepBenchmark.forkFileDir().resolve("paired-" + method + ".txt"), String.join("\n", lines));
    }
}
