package io.peft4j.core.tensor;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.factory.Nd4jBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batched matrix products {@code C[i] = op(A[i])·op(B[i])} of row-major rank-3 arrays as one {@code cblas_?gemm}
 * call per batch element, straight on the arrays' memory. Attention's products are 96 small GEMMs per layer
 * (BERT-base, 8 x 12 heads of 128 x 64), and {@link #strided} reads each head where it lies inside the wider
 * {@code [B, T, H·dh]} projections, with no split or merge copy. Plain 2-D products ({@link #gemm}) go the same way.
 * The measured times against ND4J's batched matmul, its {@code batched_gemm} op and {@code Nd4j.gemm} are in
 * {@code docs/benchmarks-kernels.md} ({@code docs/generate-kernel-benchmarks.sh}). Used on ND4J's CPU backend with
 * OpenBLAS only; elsewhere {@link #available} is false and callers use ND4J's matmul.
 */
final class BatchedGemm {
    private static final Logger LOG = LoggerFactory.getLogger(BatchedGemm.class);
    private static final boolean AVAILABLE = detect();

    private BatchedGemm() {
    }

    private static boolean detect() {
        try {
            if (!Nd4j.getBackend().getClass().getSimpleName().equals("CpuBackend")) return false;
            if (!String.valueOf(Nd4j.factory().blas().getBlasVendor()).equals("OPENBLAS")) return false;
            openblas.blas_get_num_threads();                 // loads the library ND4J already loaded
            return true;
        } catch (Throwable t) {                              // no OpenBLAS natives (another backend): ND4J's matmul
            LOG.debug("batched products through ND4J's matmul: {}", t.toString());
            return false;
        }
    }

    /** Whether {@code a} and {@code b} can go through cblas: same float or double type, rank 3, same batch, dense row-major. */
    static boolean applies(INDArray a, INDArray b) {
        if (a.rank() != 3 || b.rank() != 3 || a.size(0) != b.size(0)) return false;
        return available(a, b);
    }

    /** Whether the arrays can go through cblas: OpenBLAS on the CPU backend, one float or double type, dense row-major. */
    static boolean available(INDArray... arrays) {
        if (!AVAILABLE) return false;
        DataType type = arrays[0].dataType();
        if (type != DataType.FLOAT && type != DataType.DOUBLE) return false;
        for (INDArray x : arrays) if (x.dataType() != type || !dense(x)) return false;
        return true;
    }

    private static boolean dense(INDArray x) {
        return x.ordering() == 'c' && x.elementWiseStride() == 1 && x.length() < Integer.MAX_VALUE;
    }

    /**
     * Where x's first element is, in elements from its buffer's address pointer (which already counts the
     * buffer's own offset: a view's buffer starts at the view).
     */
    private static long start(INDArray x) {
        return x.offset() - x.data().offset();
    }

    /** {@code op(a[i])·op(b[i])} for every i, into a new row-major array of the current workspace. */
    static INDArray multiply(INDArray a, INDArray b, boolean ta, boolean tb) {
        int batch = (int) a.size(0);
        int m = (int) (ta ? a.size(2) : a.size(1)), k = (int) (ta ? a.size(1) : a.size(2));
        int n = (int) (tb ? b.size(1) : b.size(2)), kb = (int) (tb ? b.size(2) : b.size(1));
        if (k != kb) {
            throw new IllegalArgumentException("matmul: inner dimensions " + k + " and " + kb + " differ");
        }
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[]{batch, m, n}, 'c');
        strided(ta, tb, m, n, k, 1.0, a, offsets(batch, a.size(1) * a.size(2)), (int) a.size(2),
                b, offsets(batch, b.size(1) * b.size(2)), (int) b.size(2), c, offsets(batch, (long) m * n), n);
        return c;
    }

    /** {@code i·step} for i < count. */
    static long[] offsets(int count, long step) {
        long[] o = new long[count];
        for (int i = 0; i < count; i++) o[i] = i * step;
        return o;
    }

    /**
     * {@code C_i = alpha·op(A_i)·op(B_i)} for every i, each operand the row-major sub-matrix that starts
     * {@code offsets[i]} elements after its array's first element, rows {@code ld} elements apart (so a
     * head's columns inside a wider matrix need no copy). All three arrays are dense, of one type (float
     * or double), and {@link #available} holds for them.
     */
    static void strided(boolean ta, boolean tb, int m, int n, int k, double alpha,
                        INDArray a, long[] aOff, int lda, INDArray b, long[] bOff, int ldb, INDArray c, long[] cOff, int ldc) {
        run(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, 0, c, cOff, ldc);
    }

    /**
     * {@code c = op(a)·op(b) + beta·c} for 2-D arrays for which {@link #available} holds, straight through cblas,
     * without ND4J's dispatch around its own call; {@code docs/benchmarks-kernels.md} times it against
     * {@code Nd4j.gemm} on BERT-base's projections and LoRA's rank-8 products.
     */
    static void gemm(INDArray a, INDArray b, INDArray c, boolean ta, boolean tb, double beta) {
        int m = (int) c.size(0), n = (int) c.size(1), k = (int) (ta ? a.size(0) : a.size(1));
        long[] zero = {0};
        run(ta, tb, m, n, k, 1.0, a, zero, (int) a.size(1), b, zero, (int) b.size(1), beta, c, zero, n);
    }

    private static void run(boolean ta, boolean tb, int m, int n, int k, double alpha, INDArray a, long[] aOff, int lda,
                            INDArray b, long[] bOff, int ldb, double beta, INDArray c, long[] cOff, int ldc) {
        Profiler.countGemm(m, n, k, aOff.length);
        int opA = ta ? openblas.CblasTrans : openblas.CblasNoTrans, opB = tb ? openblas.CblasTrans : openblas.CblasNoTrans;
        long sa = start(a), sb = start(b), sc = start(c);
        if (a.dataType() == DataType.FLOAT) {
            FloatPointer pa = new FloatPointer(a.data().addressPointer()), pb = new FloatPointer(b.data().addressPointer());
            FloatPointer pc = new FloatPointer(c.data().addressPointer());
            for (int i = 0; i < aOff.length; i++) {
                openblas.cblas_sgemm(openblas.CblasRowMajor, opA, opB, m, n, k, (float) alpha, pa.position(sa + aOff[i]), lda,
                        pb.position(sb + bOff[i]), ldb, (float) beta, pc.position(sc + cOff[i]), ldc);
            }
        } else {
            DoublePointer pa = new DoublePointer(a.data().addressPointer()), pb = new DoublePointer(b.data().addressPointer());
            DoublePointer pc = new DoublePointer(c.data().addressPointer());
            for (int i = 0; i < aOff.length; i++) {
                openblas.cblas_dgemm(openblas.CblasRowMajor, opA, opB, m, n, k, alpha, pa.position(sa + aOff[i]), lda,
                        pb.position(sb + bOff[i]), ldb, beta, pc.position(sc + cOff[i]), ldc);
            }
        }
    }
}
