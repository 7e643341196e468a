package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * What peft4j's Java kernels over float arrays share: the test that a kernel applies, access to an array's
 * native memory, and splitting a loop over the cores.
 */
final class FloatKernels {
    private FloatKernels() {
    }

    /** A loop body over the half-open range {@code [from, to)}. */
    interface Range {
        void run(int from, int to);
    }

    /** Whether a kernel applies: float, row-major, dense, and small enough to index with an int. */
    static boolean applies(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.elementWiseStride() != 1
                    || a.offset() + a.length() > Integer.MAX_VALUE) return false;
        }
        return true;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into one part per core (on the common fork-join pool and the
     * caller) when every part gets at least {@code minPart} items, else in the caller alone.
     */
    static void split(int n, int minPart, Range body) {
        int parts = Math.min(Runtime.getRuntime().availableProcessors(), Math.max(1, n / minPart));
        if (parts <= 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, parts).parallel()
                .forEach(p -> body.run((int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts)));
    }

    /**
     * Column sums {@code out_j = Σ_r g[r, j]·a[r, j]} of float {@code g} and {@code a} seen as {@code [rows, n]}
     * with n their last dimension, or {@code Σ_r g[r, j]} when {@code a} is null: the gradient of a vector that
     * scales or shifts every row (IA3's vectors, biases). One pass over both arrays, rows split over the cores,
     * each part summing 64 rows at a time in float and then in double; ND4J takes a product pass and a strided
     * reduction for the same.
     */
    static INDArray columnDot(INDArray g, INDArray a) {
        int n = (int) g.size(g.rank() - 1), rows = (int) (g.length() / n);
        FloatBuffer gb = buf(g), ab = a == null ? null : buf(a);
        int go = off(g), ao = a == null ? 0 : off(a);
        double[] total = new double[n];
        split(rows, 64, (from, to) -> {
            float[] gr = new float[n], ar = a == null ? null : new float[n], block = new float[n];
            double[] sum = new double[n];
            for (int r0 = from; r0 < to; r0 += 64) {
                Arrays.fill(block, 0f);
                for (int r = r0; r < Math.min(to, r0 + 64); r++) {
                    gb.get(go + r * n, gr, 0, n);
                    if (ar == null) {
                        for (int j = 0; j < n; j++) block[j] += gr[j];
                    } else {
                        ab.get(ao + r * n, ar, 0, n);
                        for (int j = 0; j < n; j++) block[j] += gr[j] * ar[j];
                    }
                }
                for (int j = 0; j < n; j++) sum[j] += block[j];
            }
            synchronized (total) {
                for (int j = 0; j < n; j++) total[j] += sum[j];
            }
        });
        float[] out = new float[n];
        for (int j = 0; j < n; j++) out[j] = (float) total[j];
        return Nd4j.createFromArray(out);
    }

    /** {@code out[r, j] = x[r, j]·v[j]} over x's last dimension n = v.length; x and out dense floats of one shape. */
    static void scaleColumns(INDArray x, float[] v, INDArray out) {
        int n = v.length, rows = (int) (x.length() / n);
        FloatBuffer xb = buf(x), ob = buf(out);
        int xo = off(x), oo = off(out);
        split(rows, 64, (from, to) -> {
            float[] r = new float[n];
            for (int i = from; i < to; i++) {
                xb.get(xo + i * n, r, 0, n);
                for (int j = 0; j < n; j++) r[j] *= v[j];
                ob.put(oo + i * n, r, 0, n);
            }
        });
    }

    /**
     * The indices of the rows of the dense float matrix {@code g [rows, n]} that hold a non-zero (or NaN), or
     * null as soon as there are more than {@code most} of them. A row is dismissed at its first non-zero, so a
     * dense matrix costs about one read per row.
     */
    static int[] nonzeroRows(INDArray g, int most) {
        int n = (int) g.size(1), rows = (int) g.size(0);
        FloatBuffer gb = buf(g);
        int go = off(g);
        int[] live = new int[most];
        int count = 0;
        for (int r = 0; r < rows; r++) {
            int at = go + r * n;
            for (int j = 0; j < n; j++) {
                if (gb.get(at + j) != 0f) {
                    if (count == most) return null;
                    live[count++] = r;
                    break;
                }
            }
        }
        return Arrays.copyOf(live, count);
    }

    /** Rows {@code rows} of the dense float matrix {@code x [*, n]}, as a new {@code [rows.length, n]} matrix. */
    static INDArray gatherRows(INDArray x, int[] rows) {
        INDArray out = Nd4j.createUninitialized(x.dataType(), new long[]{rows.length, x.size(1)}, 'c');
        copyRows(x, rows, out, null);
        return out;
    }

    /** Writes row i of the dense float matrix {@code part} into row {@code rows[i]} of {@code out}. */
    static void scatterRows(INDArray part, int[] rows, INDArray out) {
        copyRows(part, null, out, rows);
    }

    /**
     * Copies rows between dense float matrices of one width: the i-th copy reads row {@code from[i]} (or i when
     * {@code from} is null) and writes row {@code to[i]} (or i); one of the two index lists is given.
     */
    private static void copyRows(INDArray src, int[] from, INDArray dst, int[] to) {
        int n = (int) dst.size(1), count = from != null ? from.length : to.length;
        FloatBuffer sb = buf(src), db = buf(dst);
        int so = off(src), dOff = off(dst);
        float[] row = new float[n];
        for (int i = 0; i < count; i++) {
            sb.get(so + (from == null ? i : from[i]) * n, row, 0, n);
            db.put(dOff + (to == null ? i : to[i]) * n, row, 0, n);
        }
    }

    /** Writes the vector {@code v [n]} into every row of the dense float matrix {@code out [rows, n]}. */
    static void fillRows(INDArray out, INDArray v) {
        int n = (int) out.size(1), rows = (int) out.size(0);
        float[] row = floats(v, n);
        FloatBuffer ob = buf(out);
        int oo = off(out);
        split(rows, 64, (from, to) -> {
            for (int r = from; r < to; r++) ob.put(oo + r * n, row, 0, n);
        });
    }

    /**
     * ReLU's input gradient {@code g·[y > 0]} from the output y, in one pass into a new array of g's shape
     * (ND4J's {@code gt}, cast and product take three passes and two temporary arrays). A product, not a
     * select, so a non-finite gradient where the unit is off still gives NaN, as the composed ops do.
     */
    static INDArray reluGrad(INDArray g, INDArray y) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, g.shape(), 'c');
        FloatBuffer gb = buf(g), yb = buf(y), ob = buf(out);
        int go = off(g), yo = off(y), oo = off(out);
        split((int) g.length(), 1 << 15, (from, to) -> {
            for (int i = from; i < to; i++) ob.put(oo + i, gb.get(go + i) * (yb.get(yo + i) > 0 ? 1f : 0f));
        });
        return out;
    }

    /** The first {@code d} elements of a float array as a Java array. */
    static float[] floats(INDArray v, int d) {
        float[] out = new float[d];
        buf(v).get(off(v), out, 0, d);
        return out;
    }

    static FloatBuffer buf(INDArray a) {
        return a.data().asNioFloat();
    }

    static int off(INDArray a) {
        return (int) a.offset();
    }
}
