package io.peft4j.core.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Ops#attention} (on the CPU backend: the in-place {@link AttentionKernel}) against attention written
 * out in plain Java loops over doubles, its gradients against finite differences, and the float kernel's
 * gradients against the float64 ones. Shapes are odd on purpose (Tq != Tk as with prefixes, 3 heads of 4).
 */
class AttentionTest {
    private static final int B = 2, TQ = 5, TK = 7, H = 3, D = 12;

    /** Biases the kernel must handle: none, padding per row, causal shared, and both. */
    private static List<INDArray> biases() {
        double[] pad = new double[B * TK];
        pad[TK - 1] = -1e9;                                   // row 0: last key padded
        pad[TK + 1] = -1e9;                                   // row 1: key 1 padded
        pad[TK + 4] = -1e9;
        double[] causal = new double[TQ * TK];
        for (int i = 0; i < TQ; i++) for (int j = 0; j < TK; j++) if (j > TK - TQ + i) causal[i * TK + j] = -1e9;
        double[] both = new double[B * TQ * TK];
        for (int r = 0; r < B; r++) {
            for (int i = 0; i < TQ; i++) {
                for (int j = 0; j < TK; j++) both[(r * TQ + i) * TK + j] = causal[i * TK + j] + pad[r * TK + j];
            }
        }
        java.util.ArrayList<INDArray> out = new java.util.ArrayList<>();
        out.add(null);
        out.add(Nd4j.create(pad, new long[]{B, 1, 1, TK}, 'c'));
        out.add(Nd4j.create(causal, new long[]{1, 1, TQ, TK}, 'c'));
        out.add(Nd4j.create(both, new long[]{B, 1, TQ, TK}, 'c'));
        return out;
    }

    /** softmax(q_h k_hᵀ/√dh + bias) v_h, head by head, in double loops. */
    private static double[][][] reference(INDArray q, INDArray k, INDArray v, INDArray bias) {
        int dh = D / H;
        double[][][] out = new double[B][TQ][D];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < TQ; i++) {
                    double[] s = new double[TK];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < TK; j++) {
                        double dot = 0;
                        for (int c = 0; c < dh; c++) dot += q.getDouble(b, i, h * dh + c) * k.getDouble(b, j, h * dh + c);
                        s[j] = dot / Math.sqrt(dh);
                        if (bias != null) {
                            s[j] += bias.getDouble(bias.size(0) == 1 ? 0 : b, 0, bias.size(2) == 1 ? 0 : i, j);
                        }
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < TK; j++) z += s[j] = Math.exp(s[j] - max);
                    for (int c = 0; c < dh; c++) {
                        double o = 0;
                        for (int j = 0; j < TK; j++) o += s[j] / z * v.getDouble(b, j, h * dh + c);
                        out[b][i][h * dh + c] = o;
                    }
                }
            }
        }
        return out;
    }

    @Test
    void forwardMatchesLoopsInDoubleAndFloat() {
        Tensor q = GradCheck.param(1, B, TQ, D), k = GradCheck.param(2, B, TK, D), v = GradCheck.param(3, B, TK, D);
        for (INDArray bias : biases()) {
            double[][][] want = reference(q.value(), k.value(), v.value(), bias);
            for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
                INDArray got = Ops.attention(Tensor.constant(q.value().castTo(type)), Tensor.constant(k.value().castTo(type)),
                        Tensor.constant(v.value().castTo(type)), H, bias == null ? null : bias.castTo(type)).value();
                assertThat(got.shape()).containsExactly(B, TQ, D);
                double tol = type == DataType.DOUBLE ? 1e-12 : 2e-6;
                for (int b = 0; b < B; b++) {
                    for (int i = 0; i < TQ; i++) {
                        for (int c = 0; c < D; c++) {
                            assertThat(got.getDouble(b, i, c)).as("%s bias %s [%d,%d,%d]", type, bias == null ? "none" : bias.shapeInfoToString(), b, i, c)
                                    .isCloseTo(want[b][i][c], org.assertj.core.data.Offset.offset(tol));
                        }
                    }
                }
            }
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        for (INDArray bias : biases()) {
            Tensor q = GradCheck.param(4, B, TQ, D), k = GradCheck.param(5, B, TK, D), v = GradCheck.param(6, B, TK, D);
            GradCheck.check(() -> GradCheck.project(Ops.attention(q, k, v, H, bias), 7), List.of(q, k, v), 40, 1e-6);
        }
    }

    @Test
    void floatGradientsMatchDouble() {
        for (INDArray bias : biases()) {
            Tensor[] d = {GradCheck.param(8, B, TQ, D), GradCheck.param(9, B, TK, D), GradCheck.param(10, B, TK, D)};
            Tensor[] f = new Tensor[3];
            for (int i = 0; i < 3; i++) f[i] = Tensor.parameter(d[i].value().castTo(DataType.FLOAT));
            INDArray r = Nd4j.randn(DataType.DOUBLE, B, TQ, D);
            Ops.sum(Ops.mul(Ops.attention(d[0], d[1], d[2], H, bias), Tensor.constant(r))).backward();
            Ops.sum(Ops.mul(Ops.attention(f[0], f[1], f[2], H, bias == null ? null : bias.castTo(DataType.FLOAT)),
                    Tensor.constant(r.castTo(DataType.FLOAT)))).backward();
            for (int i = 0; i < 3; i++) {
                INDArray want = d[i].grad(), got = f[i].grad().castTo(DataType.DOUBLE);
                double scale = Math.max(1.0, want.amaxNumber().doubleValue());
                assertThat(got.sub(want).amaxNumber().doubleValue() / scale).as("input %d", i).isLessThan(1e-5);
            }
        }
    }

    @Test
    void composedFormAgreesWithTheKernel() {
        Tensor q = GradCheck.param(11, B, TQ, D), k = GradCheck.param(12, B, TK, D), v = GradCheck.param(13, B, TK, D);
        INDArray bias = biases().get(3);
        INDArray r = Nd4j.randn(DataType.DOUBLE, B, TQ, D);
        Ops.sum(Ops.mul(Ops.attention(q, k, v, H, bias), Tensor.constant(r))).backward();
        INDArray[] kernel = {q.grad().dup(), k.grad().dup(), v.grad().dup()};
        for (Tensor t : List.of(q, k, v)) t.zeroGrad();
        Ops.sum(Ops.mul(Ops.attentionComposed(q, k, v, H, bias, 1 / Math.sqrt(D / H)), Tensor.constant(r))).backward();
        INDArray[] composed = {q.grad(), k.grad(), v.grad()};
        for (int i = 0; i < 3; i++) assertThat(kernel[i].sub(composed[i]).amaxNumber().doubleValue()).isLessThan(1e-10);
    }

    @Test
    void rejectsMismatchedShapes() {
        Tensor q = GradCheck.param(1, B, TQ, D), k = GradCheck.param(2, B, TK, D);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Ops.attention(q, k, GradCheck.param(3, B, TK + 1, D), H, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attention");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Ops.attention(q, k, k, 5, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 heads");
    }
}
