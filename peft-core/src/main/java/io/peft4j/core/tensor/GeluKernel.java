package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

import static io.peft4j.core.tensor.FloatKernels.buf;
import static io.peft4j.core.tensor.FloatKernels.off;

/**
 * GELU and its derivative over float arrays in one pass, by linear interpolation in a table of both,
 * computed once in double at {@code 2^16 + 1} points on {@code [-8, 8]} (step h = 2.4e-4). The interpolation
 * error is at most {@code h²/8 · max|f''|}, below 1e-8 for both GELU forms, so the result is as close to the
 * exact function as float rounding allows. Outside the table GELU is {@code x} (above) or 0 (below), which
 * is exact in float. ND4J needs five passes for the value (nine for the tanh form) and six more for the
 * derivative, its erf the slowest of its elementwise ops, each pass with its own dispatch and its own threads,
 * which in a forward also contend with the BLAS threads; this kernel makes one pass for both. ND4J's own GELU ops
 * compute other functions ({@code GELU} is {@code x·σ(1.702x)}; {@code PreciseGELU} cubes {@code 0.044715·x}
 * instead of scaling {@code x³}), so they cannot stand in for either form. The measured times against ND4J's op
 * chains and those ops are in {@code docs/benchmarks-kernels.md} ({@code docs/generate-kernel-benchmarks.sh}).
 */
final class GeluKernel {
    private static final double LO = -8, HI = 8;
    private static final int N = 1 << 16;
    private static final double PER_STEP = N / (HI - LO);
    /**
     * The lookup in float: {@code u = (x - LO)·SCALE} and its integer part, the table index. In double, the
     * conversion to int alone made the loop about five times slower.
     */
    private static final float LO_F = (float) LO, SCALE = (float) PER_STEP, STEP = 1 / SCALE;
    /** Elements copied between the arrays' native memory and Java arrays at a time (bulk copies, then plain loops). */
    private static final int CHUNK = 4096;

    private GeluKernel() {
    }

    /** Lazily built tables: {@code [value_0, slope_0, value_1, slope_1, ...]}, interleaved so one cache line serves both. */
    private static final class Tables {
        static final float[] ERF = build(Ops.Gelu.ERF), TANH = build(Ops.Gelu.TANH);

        private static float[] build(Ops.Gelu kind) {
            double[] x = new double[N + 1];
            for (int i = 0; i <= N; i++) x[i] = LO + i / PER_STEP;
            double[] phi = new double[N + 1];            // Φ(x) for ERF; (1 + tanh u)/2 for TANH
            double[] dphi = new double[N + 1];           // its derivative
            if (kind == Ops.Gelu.ERF) {
                INDArray e = Nd4j.createFromArray(x).muli(Math.sqrt(0.5));
                Nd4j.exec(new Erf(e, e));
                double[] erf = e.toDoubleVector();
                for (int i = 0; i <= N; i++) {
                    phi[i] = 0.5 * (1 + erf[i]);
                    dphi[i] = Math.exp(-0.5 * x[i] * x[i]) / Math.sqrt(2 * Math.PI);
                }
            } else {
                double c = Math.sqrt(2 / Math.PI);
                for (int i = 0; i <= N; i++) {
                    double t = Math.tanh(c * (x[i] + 0.044715 * x[i] * x[i] * x[i]));
                    phi[i] = 0.5 * (1 + t);
                    dphi[i] = 0.5 * (1 - t * t) * c * (1 + 3 * 0.044715 * x[i] * x[i]);
                }
            }
            float[] table = new float[2 * (N + 1)];
            for (int i = 0; i <= N; i++) {
                table[2 * i] = (float) (x[i] * phi[i]);
                table[2 * i + 1] = (float) (phi[i] + x[i] * dphi[i]);
            }
            return table;
        }
    }

    /**
     * {@code y = gelu(x)} and, when {@code derivative} is not null, {@code gelu'(x)}; all float, dense, row-major
     * and of x's length (see {@link FloatKernels#applies}). {@code y} may be {@code x} itself.
     */
    static void apply(INDArray x, Ops.Gelu kind, INDArray y, INDArray derivative) {
        float[] t = kind == Ops.Gelu.ERF ? Tables.ERF : Tables.TANH;
        FloatBuffer xb = buf(x), yb = buf(y), db = derivative == null ? null : buf(derivative);
        int xo = off(x), yo = off(y), dO = derivative == null ? 0 : off(derivative);
        FloatKernels.split((int) x.length(), 1 << 15, (from, to) -> {
            float[] xs = new float[CHUNK], ys = new float[CHUNK], ds = db == null ? null : new float[CHUNK];
            for (int c = from; c < to; c += CHUNK) {
                int m = Math.min(CHUNK, to - c);
                xb.get(xo + c, xs, 0, m);
                for (int i = 0; i < m; i++) {
                    float xi = xs[i];
                    float u = (xi - LO_F) * SCALE;
                    float value, slope;
                    if (u >= 0 && u < N) {
                        int k = (int) u;
                        float f = (xi - (LO_F + k * STEP)) * SCALE;         // from the grid point (a float exactly): u itself is coarse near 8
                        int at = 2 * k;
                        value = t[at] + f * (t[at + 2] - t[at]);
                        slope = t[at + 1] + f * (t[at + 3] - t[at + 1]);
                    } else if (u >= N) {
                        value = xi;
                        slope = 1;
                    } else if (u < 0) {
                        value = 0;
                        slope = 0;
                    } else {                                                 // NaN propagates
                        value = xi;
                        slope = xi;
                    }
                    ys[i] = value;
                    if (ds != null) ds[i] = slope;
                }
                yb.put(yo + c, ys, 0, m);
                if (ds != null) db.put(dO + c, ds, 0, m);
            }
        });
    }
}
