package io.peft4j.core.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The float column-sum kernel behind the gradients of vectors that scale or shift every row (IA3, biases),
 * reached through {@link Ops#mul}, {@link Ops#add} and {@link Ops#linear} on float tensors, against the same
 * gradients in float64 (ND4J's reductions, which {@link OpsGradientTest} checks by finite differences). The
 * rows (3 x 131 = 393) are not a multiple of the kernel's 64-row blocks and split over two threads; the scaled
 * input is a view at a non-zero offset. The float product by the trainable vector l takes the path that keeps
 * {@code x ⊙ l} and divides l's gradient by l; the float linear writes its bias before the GEMM.
 */
class ColumnDotTest {

    @Test
    void vectorGradientsMatchFloat64() {
        Nd4j.getRandom().setSeed(3);
        INDArray big = Nd4j.rand(DataType.DOUBLE, 4, 131, 50).subi(0.5).muli(4);
        INDArray x64 = big.get(NDArrayIndex.interval(1, 4), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray l64 = Nd4j.rand(DataType.DOUBLE, 50).addi(0.5), b64 = Nd4j.rand(DataType.DOUBLE, 50);
        INDArray w64 = Nd4j.rand(DataType.DOUBLE, 50, 20).subi(0.5), wb64 = Nd4j.rand(DataType.DOUBLE, 20);
        INDArray seed64 = Nd4j.rand(DataType.DOUBLE, 3, 131, 20).subi(0.5);
        // the same numbers in both precisions
        for (INDArray a : new INDArray[]{big, l64, b64, w64, wb64, seed64}) a.assign(a.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));

        Tensor[] ref = run(x64, l64, b64, w64, wb64, seed64);
        INDArray xf = big.castTo(DataType.FLOAT).get(NDArrayIndex.interval(1, 4), NDArrayIndex.all(), NDArrayIndex.all());
        assertThat(xf.offset()).isEqualTo(131L * 50);
        Tensor[] f = run(xf, l64.castTo(DataType.FLOAT), b64.castTo(DataType.FLOAT), w64.castTo(DataType.FLOAT),
                wb64.castTo(DataType.FLOAT), seed64.castTo(DataType.FLOAT));
        for (int i = 0; i < ref.length; i++) {
            INDArray expected = ref[i].grad(), got = f[i].grad().castTo(DataType.DOUBLE);
            double scale = Math.max(1, expected.amaxNumber().doubleValue());
            assertThat(got.sub(expected).amaxNumber().doubleValue() / scale).as("gradient %d", i).isLessThan(1e-5);
        }
    }

    /** y = linear(x ⊙ l + b; W, c) and backward of {@code seed}; returns x, l, b, W, c. */
    private static Tensor[] run(INDArray x, INDArray l, INDArray b, INDArray w, INDArray c, INDArray seed) {
        Tensor xt = Tensor.parameter(x), lt = Tensor.parameter(l.dup()), bt = Tensor.parameter(b.dup());
        Tensor wt = Tensor.parameter(w.dup()), ct = Tensor.parameter(c.dup());
        Ops.linear(Ops.add(Ops.mul(xt, lt), bt), wt, ct).backward(seed);
        return new Tensor[]{xt, lt, bt, wt, ct};
    }
}
