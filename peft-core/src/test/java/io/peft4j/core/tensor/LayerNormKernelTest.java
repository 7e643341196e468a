package io.peft4j.core.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The float layer-norm kernel against the same op in float64, which runs ND4J's elementwise ops and is
 * checked against finite differences in {@link OpsGradientTest}: values and all three gradients, on an
 * input that is a view at a non-zero offset (rows 3..130 of a larger array, so the row split over two
 * threads is exercised), with rows of very different scale and mean.
 */
class LayerNormKernelTest {

    /**
     * With every |γ| clear of zero the op keeps its output and recovers x̂ = (y - β)/γ in backward; with a zero
     * γ it keeps x̂ itself. Both paths, in both precisions.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void floatKernelMatchesTheFloat64Definition(boolean zeroGamma) {
        int rows = 128, d = 96;
        Nd4j.getRandom().setSeed(11);
        INDArray big = Nd4j.rand(DataType.DOUBLE, rows + 5, d).subi(0.5);
        for (int r = 0; r < rows + 5; r++) big.getRow(r).muli(0.01 + r % 7).addi(r % 5 - 2);
        big = big.castTo(DataType.FLOAT).castTo(DataType.DOUBLE);    // both runs see the same inputs
        INDArray gamma = floats(Nd4j.rand(DataType.DOUBLE, d).addi(0.5)), beta = floats(Nd4j.rand(DataType.DOUBLE, d).subi(0.5));
        INDArray seed = floats(Nd4j.rand(DataType.DOUBLE, rows, d).subi(0.5));
        if (zeroGamma) gamma.putScalar(5, 0.0);

        Tensor[] ref = run(big.get(NDArrayIndex.interval(3, 3 + rows), NDArrayIndex.all()), gamma, beta, seed);
        INDArray bigF = big.castTo(DataType.FLOAT);
        INDArray viewF = bigF.get(NDArrayIndex.interval(3, 3 + rows), NDArrayIndex.all());
        assertThat(viewF.offset()).isEqualTo(3L * d);
        assertThat(FloatKernels.applies(viewF)).isTrue();
        Tensor[] f = run(viewF, gamma.castTo(DataType.FLOAT), beta.castTo(DataType.FLOAT), seed.castTo(DataType.FLOAT));

        assertClose(f[0].value(), ref[0].value(), 1e-5);      // y
        assertClose(f[1].grad(), ref[1].grad(), 2e-4);        // dx (the kernel's backward)
        assertClose(f[2].grad(), ref[2].grad(), 2e-4);        // dγ
        assertClose(f[3].grad(), ref[3].grad(), 2e-4);        // dβ
    }

    /** y = layerNorm(x; γ, β) and backward of {@code seed}; returns y, x, γ, β. */
    private static Tensor[] run(INDArray x, INDArray gamma, INDArray beta, INDArray seed) {
        Tensor xt = Tensor.parameter(x), g = Tensor.parameter(gamma.dup()), b = Tensor.parameter(beta.dup());
        Tensor y = Ops.layerNorm(xt, g, b, 1e-12);
        y.backward(seed);
        return new Tensor[]{y, xt, g, b};
    }

    private static INDArray floats(INDArray a) {
        return a.castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
    }

    private static void assertClose(INDArray actual, INDArray expected, double tol) {
        INDArray a = actual.castTo(DataType.DOUBLE), e = expected.castTo(DataType.DOUBLE);
        double scale = Math.max(1.0, e.amaxNumber().doubleValue());
        assertThat(a.sub(e).amaxNumber().doubleValue()).isLessThan(tol * scale);
    }
}
