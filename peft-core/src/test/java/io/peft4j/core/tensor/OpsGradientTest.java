package io.peft4j.core.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static io.peft4j.core.tensor.GradCheck.check;
import static io.peft4j.core.tensor.GradCheck.param;
import static io.peft4j.core.tensor.GradCheck.project;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Every op's backward against central finite differences in float64. */
class OpsGradientTest {
    private static final double TOL = 1e-6;

    @Test
    void broadcastingAddSubMul() {
        Tensor a = param(1, 2, 3, 4), b = param(2, 3, 1), c = param(3, 4);
        check(() -> project(Ops.mul(Ops.sub(Ops.add(a, b), c), b), 7), List.of(a, b, c), 50, TOL);
    }

    @ParameterizedTest
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void matmul2dAndBatched(boolean ta, boolean tb) {
        Tensor a = param(1, ta ? 4 : 3, ta ? 3 : 4), b = param(2, tb ? 5 : 4, tb ? 4 : 5);
        check(() -> project(Ops.matmul(a, b, ta, tb), 3), List.of(a, b), 40, TOL);
        Tensor a3 = param(4, 2, ta ? 4 : 3, ta ? 3 : 4), b3 = param(5, 2, tb ? 5 : 4, tb ? 4 : 5);
        check(() -> project(Ops.matmul(a3, b3, ta, tb), 6), List.of(a3, b3), 40, TOL);
    }

    @Test
    void linearTrainableAndFrozenWeight() {
        Tensor x = param(1, 2, 3, 4), w = param(2, 4, 5), b = param(3, 5);
        check(() -> project(Ops.linear(x, w, b), 4), List.of(x, w, b), 60, TOL);
        Tensor frozen = Tensor.constant(w.value().dup());
        check(() -> project(Ops.linear(x, frozen, null), 5), List.of(x), 60, TOL);
        assertThat(frozen.grad()).isNull();
    }

    /** The [out, in] weight orientation: gradients, and the same values as a matmul with the transpose plus a bias. */
    @Test
    void linearWithTorchOrientedWeight() {
        Tensor x = param(1, 2, 3, 4), w = param(2, 5, 4), b = param(3, 5);
        check(() -> project(Ops.linearT(x, w, b), 4), List.of(x, w, b), 60, TOL);
        INDArray expected = Ops.add(Ops.matmul(Ops.reshape(x, 6, 4), w, false, true), b).value();
        assertThat(Ops.linearT(x, w, b).value().reshape(6, 5)).isEqualTo(expected);
    }

    /** RMS norm: gradients of the input and the gain, and the value {@code g ⊙ x / sqrt(mean(x²) + eps)} by hand. */
    @Test
    void rmsNorm() {
        Tensor x = param(1, 2, 3, 4), g = param(2, 4);
        check(() -> project(Ops.rmsNorm(x, g, 1e-6), 3), List.of(x, g), 60, TOL);
        INDArray y = Ops.rmsNorm(x, g, 1e-6).value();
        double ms = 0;
        for (int j = 0; j < 4; j++) ms += Math.pow(x.value().getDouble(1, 2, j), 2) / 4;
        for (int j = 0; j < 4; j++) {
            assertThat(y.getDouble(1, 2, j)).isCloseTo(g.value().getDouble(j) * x.value().getDouble(1, 2, j) / Math.sqrt(ms + 1e-6), within(1e-12));
        }
    }

    /**
     * Rotary embedding, rotate-half: gradients, and the value by hand: within each head of width 4 the pairs (0, 2)
     * and (1, 3) turn by the row's angles.
     */
    @Test
    void rotaryRotatesHalvesOfEveryHead() {
        Tensor x = param(1, 2, 3, 8);                                   // 6 rows, 2 heads of width 4
        double[] angles = new double[6 * 2];
        for (int i = 0; i < angles.length; i++) angles[i] = 0.3 * i - 1.1;
        INDArray cos = Nd4j.create(java.util.Arrays.stream(angles).map(Math::cos).toArray(), new long[]{6, 2}, 'c');
        INDArray sin = Nd4j.create(java.util.Arrays.stream(angles).map(Math::sin).toArray(), new long[]{6, 2}, 'c');
        check(() -> project(Ops.rotary(x, cos, sin), 3), List.of(x), 60, TOL);
        INDArray y = Ops.rotary(x, cos, sin).value().reshape(6, 8), xv = x.value().reshape(6, 8);
        for (int r = 0; r < 6; r++) {
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < 2; i++) {
                    double a = angles[r * 2 + i], x1 = xv.getDouble(r, h * 4 + i), x2 = xv.getDouble(r, h * 4 + i + 2);
                    assertThat(y.getDouble(r, h * 4 + i)).isCloseTo(x1 * Math.cos(a) - x2 * Math.sin(a), within(1e-12));
                    assertThat(y.getDouble(r, h * 4 + i + 2)).isCloseTo(x2 * Math.cos(a) + x1 * Math.sin(a), within(1e-12));
                }
            }
        }
    }

    @Test
    void shapeOps() {
        Tensor x = param(1, 2, 3, 4), y = param(2, 2, 2, 4);
        check(() -> project(Ops.permute(Ops.reshape(x, 2, 3, 2, 2), 0, 2, 1, 3), 3), List.of(x), 50, TOL);
        check(() -> project(Ops.narrow(x, 1, 1, 2), 4), List.of(x), 50, TOL);
        check(() -> project(Ops.concat(1, x, y), 5), List.of(x, y), 50, TOL);
    }

    /**
     * Row gather and scatter-add: gradients (an index given twice, runs and single rows), and the values by hand:
     * {@code rows} picks x's sub-tensors in the order given, {@code addToRows} adds d's into exactly those places.
     */
    @Test
    void rowGatherAndScatterAdd() {
        Tensor x = param(1, 5, 3, 2), d = param(2, 4, 3, 2);
        int[] rows = {1, 2, 4, 1};
        check(() -> project(Ops.rows(x, rows), 3), List.of(x), 50, TOL);
        check(() -> project(Ops.addToRows(x, rows, d), 4), List.of(x, d), 50, TOL);
        INDArray picked = Ops.rows(x, rows).value(), sum = Ops.addToRows(x, rows, d).value();
        for (int i = 0; i < rows.length; i++) assertThat(picked.slice(i)).isEqualTo(x.value().slice(rows[i]));
        for (int r = 0; r < 5; r++) {
            INDArray expected = x.value().slice(r).dup();
            for (int i = 0; i < rows.length; i++) if (rows[i] == r) expected.addi(d.value().slice(i));
            assertThat(sum.slice(r).sub(expected).amaxNumber().doubleValue()).as("row %d", r).isLessThan(1e-15);
        }
        assertThatThrownBy(() -> Ops.addToRows(x, new int[]{0, 1}, d)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"gelu_erf", "gelu_tanh", "tanh", "sigmoid", "relu", "silu", "softmax", "log_softmax"})
    void activations(String op) {
        Tensor x = param(11, 3, 7);
        check(() -> project(switch (op) {
            case "gelu_erf" -> Ops.gelu(x, Ops.Gelu.ERF);
            case "gelu_tanh" -> Ops.gelu(x, Ops.Gelu.TANH);
            case "tanh" -> Ops.tanh(x);
            case "sigmoid" -> Ops.sigmoid(x);
            case "relu" -> Ops.relu(x);
            case "silu" -> Ops.silu(x);
            case "log_softmax" -> Ops.logSoftmax(x);
            default -> Ops.softmax(x);
        }, 2), List.of(x), 50, TOL);
    }

    /** Against the definition {@code x_i - log Σ_j exp(x_j)}, also for a row far from zero (where exp overflows unshifted). */
    @Test
    void logSoftmaxValuesMatchTheirDefinition() {
        INDArray xs = Nd4j.createFromArray(new double[][]{{1.0, -2.0, 0.5, 3.0}, {1000.0, 999.0, 990.0, 1001.0}});
        INDArray y = Ops.logSoftmax(Tensor.constant(xs)).value();
        double[] first = {1.0, -2.0, 0.5, 3.0};
        double lse = Math.log(Math.exp(1.0) + Math.exp(-2.0) + Math.exp(0.5) + Math.exp(3.0));
        for (int j = 0; j < 4; j++) assertThat(y.getDouble(0, j)).isCloseTo(first[j] - lse, within(1e-12));
        double lse2 = 1001.0 + Math.log(Math.exp(-1.0) + Math.exp(-2.0) + Math.exp(-11.0) + 1.0);
        assertThat(y.getDouble(1, 3)).isCloseTo(1001.0 - lse2, within(1e-12));
        assertThat(y.getDouble(1, 2)).isCloseTo(990.0 - lse2, within(1e-12));
    }

    @Test
    void geluValuesMatchTheirDefinitions() {
        INDArray xs = Nd4j.createFromArray(-3.0, -1.0, -0.1, 0.0, 0.5, 2.0);
        INDArray erf = Ops.gelu(Tensor.constant(xs), Ops.Gelu.ERF).value();
        INDArray tanh = Ops.gelu(Tensor.constant(xs), Ops.Gelu.TANH).value();
        // reference values: x * Phi(x) with Phi from the normal CDF, and the tanh approximation
        double[] phi = {0.0013498980316301, 0.15865525393145707, 0.46017216272297101, 0.5, 0.69146246127401312, 0.97724986805182079};
        for (int i = 0; i < xs.length(); i++) {
            double x = xs.getDouble(i);
            assertThat(erf.getDouble(i)).isCloseTo(x * phi[i], within(1e-12));
            double t = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertThat(tanh.getDouble(i)).isCloseTo(t, within(1e-12));
        }
    }

    @Test
    void layerNormAllInputs() {
        Tensor x = param(1, 2, 3, 8), g = param(2, 8), b = param(3, 8);
        check(() -> project(Ops.layerNorm(x, g, b, 1e-5), 4), List.of(x, g, b), 60, TOL);
    }

    /** Both of layer norm's backward paths: x̂ recovered from the output (γ clear of zero), and x̂ kept (a zero γ). */
    @ParameterizedTest
    @CsvSource({"false", "true"})
    void layerNormKeepingOutputOrNormalisedInput(boolean zeroGamma) {
        Tensor x = param(1, 4, 8), b = param(3, 8);
        Nd4j.getRandom().setSeed(5);
        INDArray gv = Nd4j.rand(DataType.DOUBLE, 8).addi(0.5);
        if (zeroGamma) gv.putScalar(2, 0.0);
        Tensor g = Tensor.parameter(gv);
        check(() -> project(Ops.layerNorm(x, g, b, 1e-5), 4), List.of(x, g, b), 60, TOL);
    }

    @Test
    void embeddingAndCrossEntropy() {
        Tensor w = param(1, 6, 4);
        int[] ids = {1, 3, 1, 5};
        check(() -> project(Ops.embedding(w, ids), 2), List.of(w), 30, TOL);
        Tensor logits = param(3, 4, 6);
        int[] targets = {2, -100, 0, 5};
        check(() -> Ops.crossEntropy(logits, targets, -100), List.of(logits), 30, TOL);
        // value against the definition: mean over non-ignored rows of -log softmax
        double expect = 0;
        for (int i : new int[]{0, 2, 3}) {
            double[] row = logits.value().getRow(i).toDoubleVector();
            double sumExp = 0;
            for (double z : row) sumExp += Math.exp(z);
            expect += Math.log(sumExp) - row[targets[i]];
        }
        assertThat(Ops.crossEntropy(logits, targets, -100).value().getDouble(0)).isCloseTo(expect / 3, within(1e-12));
    }

    @Test
    void constantsRecordNoGraph() {
        Tensor a = Tensor.constant(Nd4j.rand(DataType.DOUBLE, 2, 2));
        Tensor out = Ops.linear(a, Tensor.constant(Nd4j.rand(DataType.DOUBLE, 2, 3)), null);
        assertThat(out.requiresGrad()).isFalse();
    }

    @Test
    void labelSmoothedCrossEntropyMatchesItsDefinitionAndFiniteDifferences() {
        Tensor z = param(21, 4, 5);
        int[] t = {1, -100, 4, 0};
        double eps = 0.1;
        double expected = 0;
        for (int i : new int[]{0, 2, 3}) {
            double[] row = z.value().getRow(i).toDoubleVector();
            double max = java.util.Arrays.stream(row).max().orElseThrow(), lse = 0;
            for (double v : row) lse += Math.exp(v - max);
            lse = Math.log(lse) + max;
            double nll = lse - row[t[i]], uniform = 0;
            for (double v : row) uniform += (lse - v) / row.length;
            expected += (1 - eps) * nll + eps * uniform;
        }
        assertThat(Ops.crossEntropy(z, t, -100, eps).value().getDouble(0)).isCloseTo(expected / 3, within(1e-12));
        check(() -> Ops.crossEntropy(z, t, -100, eps), List.of(z), 20, TOL);
    }

    @Test
    void mseSumOverADimensionAndBroadcastTo() {
        Tensor p = param(22, 3, 2);
        INDArray target = Nd4j.create(new double[][]{{1, 2}, {0, -1}, {0.5, 0}});
        double expected = p.value().sub(target).norm2Number().doubleValue();
        assertThat(Ops.mse(p, target).value().getDouble(0)).isCloseTo(expected * expected / 6, within(1e-12));
        check(() -> Ops.mse(p, target), List.of(p), 10, TOL);
        Tensor x = param(23, 2, 3, 4), v = param(24, 1, 4);
        check(() -> project(Ops.sum(x, 1), 2), List.of(x), 30, TOL);
        check(() -> project(Ops.broadcastTo(v, 2, 3, 4), 3), List.of(v), 10, TOL);
    }

    @Test
    void dropoutIsSeededInvertedAndBackpropagatesThroughItsMask() {
        Tensor x = Tensor.parameter(Nd4j.ones(DataType.DOUBLE, 200, 50));
        INDArray a = Ops.dropout(x, 0.3, 5).value(), b = Ops.dropout(x, 0.3, 5).value(), c = Ops.dropout(x, 0.3, 6).value();
        assertThat(a.equals(b)).isTrue();
        assertThat(a.equals(c)).isFalse();
        double zeros = a.eq(0).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertThat(zeros).isCloseTo(0.3, within(0.02));
        assertThat(a.meanNumber().doubleValue()).isCloseTo(1.0, within(0.05));   // kept units scaled by 1/(1-p)
        Tensor y = param(25, 3, 4);
        check(() -> project(Ops.dropout(y, 0.5, 9), 1), List.of(y), 12, TOL);
        assertThat(Ops.dropout(y, 0.0, 9)).isSameAs(y);
    }
}
