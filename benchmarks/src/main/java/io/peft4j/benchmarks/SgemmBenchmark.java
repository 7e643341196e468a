package io.peft4j.benchmarks;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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

import java.util.concurrent.TimeUnit;

/** The machine's large-GEMM ceiling through ND4J: C = A·B, 2048³, into a preallocated C. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 9)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class SgemmBenchmark {
    public static final int N = 2048;
    INDArray a, b, c;

    @Setup
    public void setup() {
        a = Nd4j.rand(DataType.FLOAT, N, N);
        b = Nd4j.rand(DataType.FLOAT, N, N);
        c = Nd4j.createUninitialized(DataType.FLOAT, N, N);
    }

    @Benchmark
    public INDArray sgemm() {
        return Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    }
}
