package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.FloatBuffer;

import static io.peft4j.core.tensor.FloatKernels.buf;
import static io.peft4j.core.tensor.FloatKernels.off;

/**
 * Layer normalisation of float rows in one pass over each row, written in Java over the arrays' native
 * memory. ND4J needs eight elementwise ops for the same thing (mean, subtract, square, mean, power,
 * multiply, scale, shift), each a full pass with its own dispatch: on a {@code [1024, 768]} input this
 * takes about a fifth of their time. Statistics are accumulated in double. Other types use the ND4J ops.
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
        FloatBuffer xb = buf(x), gb = buf(gamma), bb = buf(beta), yb = buf(y);
        FloatBuffer hb = xhat == null ? null : buf(xhat), rb = rstd == null ? null : buf(rstd);
        int xo = off(x), go = off(gamma), bo = off(beta), yo = off(y), ho = xhat == null ? 0 : off(xhat), ro = rstd == null ? 0 : off(rstd);
        FloatKernels.split(rows, 64, (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * d;
                double sum = 0;
                for (int j = 0; j < d; j++) sum += xb.get(xr + j);
                double mean = sum / d, sq = 0;
                for (int j = 0; j < d; j++) {
                    double c = xb.get(xr + j) - mean;
                    sq += c * c;
                }
                double rs = 1.0 / Math.sqrt(sq / d + eps);
                if (rb != null) rb.put(ro + r, (float) rs);
                int yr = yo + r * d, hr = ho + r * d;
                for (int j = 0; j < d; j++) {
                    float h = (float) ((xb.get(xr + j) - mean) * rs);
                    if (hb != null) hb.put(hr + j, h);
                    yb.put(yr + j, h * gb.get(go + j) + bb.get(bo + j));
                }
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
        FloatBuffer gb = buf(g), wb = buf(gamma), rb = buf(rstd), db = buf(dx), src = buf(source);
        int go = off(g), wo = off(gamma), so = off(source), ro = off(rstd), dO = off(dx);
        double[] shift = new double[d], scale = new double[d];      // x̂ = (src - shift)·scale
        if (xhat != null) {
            java.util.Arrays.fill(scale, 1);
        } else {
            FloatBuffer bb = buf(beta);
            int bo = off(beta);
            for (int j = 0; j < d; j++) {
                shift[j] = bb.get(bo + j);
                scale[j] = 1.0 / wb.get(wo + j);
            }
        }
        FloatKernels.split(rows, 64, (from, to) -> {
            for (int r = from; r < to; r++) {
                int gr = go + r * d, sr = so + r * d;
                double m1 = 0, m2 = 0;
                for (int j = 0; j < d; j++) {
                    double dh = (double) gb.get(gr + j) * wb.get(wo + j);
                    m1 += dh;
                    m2 += dh * (src.get(sr + j) - shift[j]) * scale[j];
                }
                m1 /= d;
                m2 /= d;
                double rs = rb.get(ro + r);
                int dr = dO + r * d;
                for (int j = 0; j < d; j++) {
                    double dh = (double) gb.get(gr + j) * wb.get(wo + j);
                    db.put(dr + j, (float) (rs * (dh - m1 - (src.get(sr + j) - shift[j]) * scale[j] * m2)));
                }
            }
        });
    }
}
