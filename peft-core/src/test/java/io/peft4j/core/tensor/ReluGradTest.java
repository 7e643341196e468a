package io.peft4j.core.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ReLU's float backward kernel against ND4J's composition {@code g·cast(y > 0)}, which it replaces: equal
 * element for element (both are one float product per element), over 70,000 elements (split over two threads),
 * with exact zeros in y and non-finite gradients where the unit is on and where it is off. Then through
 * {@link Ops#relu}: the float input gradient equals the float64 one, which {@link OpsGradientTest} checks by
 * finite differences.
 */
class ReluGradTest {

    @Test
    void kernelEqualsTheComposedOps() {
        Nd4j.getRandom().setSeed(11);
        INDArray y = Nd4j.rand(DataType.FLOAT, 70, 1000).subi(0.5);
        INDArray g = Nd4j.randn(DataType.FLOAT, 70, 1000);
        Transforms.relu(y, false);
        y.putScalar(0, 5, 0f);
        y.putScalar(3, 7, 0.25f);
        g.putScalar(3, 7, Float.NaN);                       // unit on: NaN passes
        y.putScalar(4, 8, -0.0f);
        g.putScalar(4, 8, Float.POSITIVE_INFINITY);         // unit off: ∞·0 = NaN, as the product gives
        INDArray expected = g.mul(y.gt(0).castTo(DataType.FLOAT));
        INDArray got = FloatKernels.reluGrad(g, y);
        float[] e = expected.data().asFloat(), o = got.data().asFloat();
        assertThat(o).hasSize(e.length);
        for (int i = 0; i < e.length; i++) {
            assertThat(Float.floatToIntBits(o[i])).as("element %d", i).isEqualTo(Float.floatToIntBits(e[i]));
        }
        assertThat(y.lt(0).castTo(DataType.INT).sumNumber().intValue()).isZero();
        assertThat(y.eq(0).castTo(DataType.INT).sumNumber().intValue()).isGreaterThan(30_000);   // about half the units are off
    }

    @Test
    void floatBackwardMatchesFloat64() {
        Nd4j.getRandom().setSeed(12);
        INDArray x64 = Nd4j.randn(DataType.DOUBLE, 3, 40, 600), seed64 = Nd4j.randn(DataType.DOUBLE, 3, 40, 600);
        x64.assign(x64.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));
        seed64.assign(seed64.castTo(DataType.FLOAT).castTo(DataType.DOUBLE));
        INDArray ref = inputGrad(x64, seed64), got = inputGrad(x64.castTo(DataType.FLOAT), seed64.castTo(DataType.FLOAT));
        assertThat(got.dataType()).isEqualTo(DataType.FLOAT);
        assertThat(got.castTo(DataType.DOUBLE).sub(ref).amaxNumber().doubleValue()).isZero();
        assertThat(ref.amaxNumber().doubleValue()).isGreaterThan(1);
    }

    private static INDArray inputGrad(INDArray xv, INDArray seed) {
        Tensor x = Tensor.parameter(xv);
        Tensor y = Ops.relu(x);
        Ops.sum(Ops.mul(y, Tensor.constant(seed))).backward();
        return x.grad();
    }
}
