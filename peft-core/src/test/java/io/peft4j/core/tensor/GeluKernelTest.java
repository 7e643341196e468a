package io.peft4j.core.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The float GELU kernel (table interpolation) against GELU and its derivative computed here in double from
 * their definitions, with Φ(x) from erf's series and continued fraction (not ND4J's erf, which builds the table). The
 * inputs cover the table's interior, its edges at ±8, beyond them, tiny values and NaN, and are read from a
 * view at a non-zero offset large enough to be split over two threads.
 */
class GeluKernelTest {

    @ParameterizedTest
    @EnumSource(Ops.Gelu.class)
    void valuesAndDerivativesMatchTheDefinitions(Ops.Gelu kind) {
        int cols = 700, rows = 100, n = rows * cols;
        float[] xs = new float[n + cols];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (r.nextGaussian() * 3);
        float[] special = {0f, 1e-7f, -1e-7f, 8f, -8f, 7.9999f, -7.9999f, 8.0001f, -8.0001f, 30f, -30f, 2.5e-4f, -3.3f, Float.NaN};
        System.arraycopy(special, 0, xs, cols, special.length);
        INDArray all = Nd4j.create(xs, new long[]{rows + 1, cols}, 'c');
        INDArray x = all.get(NDArrayIndex.interval(1, rows + 1), NDArrayIndex.all());
        assertThat(x.offset()).isEqualTo(cols);
        assertThat(FloatKernels.applies(x)).isTrue();

        Tensor in = Tensor.parameter(x);
        Tensor y = Ops.gelu(in, kind);
        y.backward(Nd4j.ones(DataType.FLOAT, rows, cols));
        String worst = null;
        double worstExcess = 0;                 // how far past its tolerance the worst element is
        for (int i = 0; i < n; i++) {
            double xi = x.getFloat(i / cols, i % cols);
            double yi = y.value().getFloat(i / cols, i % cols), di = in.grad().getFloat(i / cols, i % cols);
            if (Double.isNaN(xi)) {
                assertThat(yi).isNaN();
                continue;
            }
            double[] ref = gelu(xi, kind);
            double ey = Math.abs(yi - ref[0]) - (2e-7 + 2e-7 * Math.abs(ref[0])), ed = Math.abs(di - ref[1]) - 3e-7;
            if (Math.max(ey, ed) > worstExcess) {
                worstExcess = Math.max(ey, ed);
                worst = "x=" + xi + ": gelu " + yi + " vs " + ref[0] + ", gelu' " + di + " vs " + ref[1];
            }
        }
        assertThat(worst).as("worst element").isNull();
    }

    /** {x·F(x), F(x) + x·F'(x)} with F = Φ (ERF) or (1 + tanh(√(2/π)(x + 0.044715x³)))/2 (TANH). */
    private static double[] gelu(double x, Ops.Gelu kind) {
        double f, df;
        if (kind == Ops.Gelu.ERF) {
            f = normalCdf(x);
            df = Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
        } else {
            double c = Math.sqrt(2 / Math.PI), t = Math.tanh(c * (x + 0.044715 * x * x * x));
            f = (1 + t) / 2;
            df = (1 - t * t) / 2 * c * (1 + 3 * 0.044715 * x * x);
        }
        return new double[]{x * f, f + x * df};
    }

    /**
     * Φ(x) = (1 + erf(x/√2))/2 with erf from its Taylor series for |z| ≤ 2.2 and from the continued fraction
     * of erfc beyond (Abramowitz and Stegun 7.1.5 and 7.1.14), both to about 1e-15.
     */
    static double normalCdf(double x) {
        double z = Math.abs(x) / Math.sqrt(2), erf;
        if (z <= 2.2) {
            double term = z, sum = z;                                  // z^(2n+1)(-1)^n / n!
            for (int n = 1; n < 80; n++) {
                term *= -z * z / n;
                sum += term / (2 * n + 1);
            }
            erf = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = z;                                              // z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))
            for (int k = 120; k >= 1; k--) f = z + (k / 2.0) / f;
            erf = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
        }
        return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
    }
}
