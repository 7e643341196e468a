package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.FloatBuffer;

import static io.peft4j.core.tensor.FloatKernels.buf;
import static io.peft4j.core.tensor.FloatKernels.floats;
import static io.peft4j.core.tensor.FloatKernels.off;

/**
 * Layer normalisation of float rows, written in Java: each row is copied from the array's native memory
 * into a Java array, where the loops vectorize, and its result copied back. ND4J needs eight elementwise ops
 * for the same thing (mean, subtract, square, mean, power, multiply, scale, shift), each a full pass with its
 * own dispatch, where the kernel reads each row once and works on it in cache; the backward likewise. The measured
 * times against those ops and against ND4J's fused {@code LayerNorm} and {@code LayerNormBp} custom ops are in
 * {@code docs/benchmarks-kernels.md} ({@code docs/generate-kernel-benchmarks.sh}). Statistics are accumulated in
 * double. Other types use the ND4J ops.
 */
final class LayerNormKernel {
    private LayerNormKernel() {
    }

    /**
     * {@code y = x̂·γ + β} with {@code x̂ = (x - mean)/σ} per row of {@code x [rows, d]}; also writes x̂ and
     * 1/σ when {@code xhat} and {@code rstd} are not null.
     */
    static void forward(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray y, INDArray xhat, INDArray rstd) {
        int rows = (int) x.size(0), d = (int) x.size(1);
        FloatBuffer xb = buf(x), yb = buf(y);
        FloatBuffer hb = xhat == null ? null : buf(xhat), rb = rstd == null ? null : buf(rstd);
        int xo = off(x), yo = off(y), ho = xhat == null ? 0 : off(xhat), ro = rstd == null ? 0 : off(rstd);
        float[] g = floats(gamma, d), b = floats(beta, d);
        FloatKernels.split(rows, 64, (from, to) -> {
            float[] row = new float[d], h = new float[d], out = new float[d];
            for (int r = from; r < to; r++) {
                xb.get(xo + r * d, row, 0, d);
                double sum = 0;
                for (int j = 0; j < d; j++) sum += row[j];
                double mean = sum / d, sq = 0;
                for (int j = 0; j < d; j++) {
                    double c = row[j] - mean;
                    sq += c * c;
                }
                double rs = 1.0 / Math.sqrt(sq / d + eps);
                if (rb != null) rb.put(ro + r, (float) rs);
                // in float, with the mean split into its float value and the remainder: x - mean stays exact
                // to float precision even when the mean dwarfs the spread
                float m = (float) mean, dm = (float) (mean - m), s = (float) rs;
                for (int j = 0; j < d; j++) {
                    h[j] = ((row[j] - m) - dm) * s;
                    out[j] = h[j] * g[j] + b[j];
                }
                if (hb != null) hb.put(ho + r * d, h, 0, d);
                yb.put(yo + r * d, out, 0, d);
            }
        });
    }

    /**
     * {@code dx = (1/σ)(g·γ - mean(g·γ) - x̂·mean(g·γ·x̂))} per row, with x̂ read from {@code xhat}, or, when it
     * is null, recovered from the output as {@code (y - β)/γ} ({@code beta} is then required).
     */
    static void backward(INDArray g, INDArray gamma, INDArray beta, INDArray xhat, INDArray y, INDArray rstd, INDArray dx) {
        int rows = (int) g.size(0), d = (int) g.size(1);
        INDArray source = xhat != null ? xhat : y;
        FloatBuffer gb = buf(g), rb = buf(rstd), db = buf(dx), src = buf(source);
        int go = off(g), so = off(source), ro = off(rstd), dO = off(dx);
        float[] w = floats(gamma, d);
        float[] shift = new float[d], scale = new float[d];          // x̂ = (src - shift)·scale
        if (xhat != null) {
            java.util.Arrays.fill(scale, 1f);
        } else {
            shift = floats(beta, d);
            for (int j = 0; j < d; j++) scale[j] = 1f / w[j];
        }
        float[] sh = shift, sc = scale;
        FloatKernels.split(rows, 64, (from, to) -> {
            float[] gr = new float[d], hat = new float[d], dh = new float[d], out = new float[d];
            for (int r = from; r < to; r++) {
                gb.get(go + r * d, gr, 0, d);
                src.get(so + r * d, hat, 0, d);
                for (int j = 0; j < d; j++) {
                    dh[j] = gr[j] * w[j];
                    hat[j] = (hat[j] - sh[j]) * sc[j];
                }
                double m1 = 0, m2 = 0;
                for (int j = 0; j < d; j++) {
                    m1 += dh[j];
                    m2 += (double) dh[j] * hat[j];
                }
                float mean1 = (float) (m1 / d), mean2 = (float) (m2 / d), rs = rb.get(ro + r);
                for (int j = 0; j < d; j++) out[j] = rs * (dh[j] - mean1 - hat[j] * mean2);
                db.put(dO + r * d, out, 0, d);
            }
        });
    }
}
