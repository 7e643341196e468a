package io.peft4j.core.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A float linear layer's backward when only a few rows of its output gradient are non-zero (as below a head
 * that pools one token per sequence), which multiplies those rows only: its input, weight and bias gradients
 * against the same layer in float64, which always multiplies every row ({@link OpsGradientTest} checks that one
 * by finite differences). Both weight orientations; a gradient of all zeros; and a gradient just dense enough
 * to take the plain path.
 */
class SparseRowGradientTest {
    private static final int B = 3, T = 40, IN = 24, OUT = 16;

    @Test
    void fewLiveRowsMatchFloat64() {
        check(new int[]{0, 40, 80, 81, 119}, false);
        check(new int[]{0, 40, 80, 81, 119}, true);
    }

    @Test
    void allZeroGradient() {
        check(new int[0], false);
        check(new int[0], true);
    }

    @Test
    void denseEnoughGradient() {
        int[] many = new int[31];                 // more than a quarter of the 120 rows
        for (int i = 0; i < many.length; i++) many[i] = 3 * i + 1;
        check(many, false);
    }

    private static void check(int[] liveRows, boolean outIn) {
        Nd4j.getRandom().setSeed(liveRows.length * 7L + (outIn ? 1 : 0));
        INDArray x = Nd4j.randn(DataType.DOUBLE, B, T, IN), w = Nd4j.randn(DataType.DOUBLE, outIn ? OUT : IN, outIn ? IN : OUT);
        INDArray b = Nd4j.randn(DataType.DOUBLE, OUT), seed = Nd4j.zeros(DataType.DOUBLE, B * T, OUT);
        for (int r : liveRows) seed.putRow(r, Nd4j.randn(DataType.DOUBLE, OUT));
        for (INDArray a : new INDArray[]{x, w, b, seed}) a.assign(a.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));

        Tensor[] ref = run(x, w, b, seed.reshape(B, T, OUT), outIn);
        Tensor[] f = run(x.castTo(DataType.FLOAT), w.castTo(DataType.FLOAT), b.castTo(DataType.FLOAT),
                seed.reshape(B, T, OUT).castTo(DataType.FLOAT), outIn);
        for (int i = 0; i < ref.length; i++) {
            INDArray expected = ref[i].grad(), got = f[i].grad().castTo(DataType.DOUBLE);
            assertThat(got.shape()).containsExactly(expected.shape());
            double scale = Math.max(1, expected.amaxNumber().doubleValue());
            assertThat(got.sub(expected).amaxNumber().doubleValue() / scale).as("gradient %d, %d live rows", i, liveRows.length).isLessThan(1e-5);
        }
        INDArray dx = f[0].grad().reshape(B * T, IN);
        java.util.Set<Integer> live = new java.util.HashSet<>();
        for (int r : liveRows) live.add(r);
        for (int r = 0; r < B * T; r++) {
            if (!live.contains(r)) assertThat(dx.getRow(r).amaxNumber().doubleValue()).as("row %d", r).isZero();
        }
    }

    private static Tensor[] run(INDArray x, INDArray w, INDArray b, INDArray seed, boolean outIn) {
        Tensor xt = Tensor.parameter(x.dup()), wt = Tensor.parameter(w.dup()), bt = Tensor.parameter(b.dup());
        (outIn ? Ops.linearT(xt, wt, bt) : Ops.linear(xt, wt, bt)).backward(seed);
        return new Tensor[]{xt, wt, bt};
    }
}
