package io.peft4j.benchmarks;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/** BERT-base forward (encoder, final hidden states, as PyTorch's BertModel), batch 8 x 128 tokens. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 9)
@Fork(value = 1, jvmArgs = {"-Xmx8g"})
public class BertForwardBenchmark {
    public static final int BATCH = 8, TOKENS = 128;
    TransformerModel model;
    Batch batch;

    @Setup
    public void setup() {
        model = Models.load(ModelHub.resolve("bert-base-uncased"), DataType.FLOAT);
        batch = randomBatch(model.config().vocabSize());
    }

    static Batch randomBatch(int vocab) {
        Random r = new Random(42);
        int[][] ids = new int[BATCH][TOKENS];
        for (int[] row : ids) for (int i = 0; i < TOKENS; i++) row[i] = 1000 + r.nextInt(vocab - 1000);
        return Batch.of(ids);
    }

    @Benchmark
    public INDArray forward() {
        return Workspaces.run(() -> new INDArray[]{model.forward(batch, ForwardContext.inference(BATCH)).hidden().value()})[0];
    }

    /** Multiply-adds of one forward: per layer 4d² + 2df per token plus 2T²d attention per sequence. */
    public static double flops(int layers, int d, int f) {
        double tokens = (double) BATCH * TOKENS;
        double perLayer = tokens * 2 * (4.0 * d * d + 2.0 * d * f) + BATCH * 2 * 2.0 * TOKENS * TOKENS * d;
        return layers * perLayer;
    }
}
