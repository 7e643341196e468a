package io.peft4j.core.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Batched products through cblas against ND4J's own batched matmul, for every transpose combination, in float
 * and double, with both operands views at a non-zero offset into larger arrays and the product made inside a
 * workspace (whose arrays do not start at their buffer's address).
 */
class BatchedGemmTest {

    @ParameterizedTest
    @CsvSource({"FLOAT,false,false", "FLOAT,false,true", "FLOAT,true,false", "FLOAT,true,true",
            "DOUBLE,false,false", "DOUBLE,false,true", "DOUBLE,true,false", "DOUBLE,true,true"})
    void matchesNd4jMatmul(DataType type, boolean ta, boolean tb) {
        int batch = 5, m = 7, k = 9, n = 6;
        Nd4j.getRandom().setSeed(17);
        long[] as = ta ? new long[]{batch + 2, k, m} : new long[]{batch + 2, m, k};
        long[] bs = tb ? new long[]{batch + 1, n, k} : new long[]{batch + 1, k, n};
        INDArray bigA = Nd4j.rand(type, as).subi(0.5), bigB = Nd4j.rand(type, bs).subi(0.5);
        INDArray a = bigA.get(NDArrayIndex.interval(2, batch + 2), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray b = bigB.get(NDArrayIndex.interval(1, batch + 1), NDArrayIndex.all(), NDArrayIndex.all());
        assertThat(a.offset()).isPositive();
        assertThat(BatchedGemm.applies(a, b)).isTrue();
        INDArray expected = Nd4j.matmul(a.dup('c'), b.dup('c'), ta, tb, false);
        INDArray[] got = Workspaces.run(() -> {
            Nd4j.createUninitialized(type, 13);                       // the product does not start the workspace
            return new INDArray[]{BatchedGemm.multiply(a, b, ta, tb)};
        });
        assertThat(got[0].shape()).containsExactly(batch, m, n);
        double tol = type == DataType.FLOAT ? 1e-5 : 1e-12;
        assertThat(got[0].sub(expected).amaxNumber().doubleValue()).isLessThan(tol);
    }

    /**
     * The 2-D product {@code c = op(a)·op(b) + beta·c} through cblas against the sum written out in Java loops,
     * with a and c row views at a non-zero offset, beta 0 (c's old values ignored) and 1 (accumulated onto).
     */
    @ParameterizedTest
    @CsvSource({"FLOAT,false,false,0", "FLOAT,false,true,1", "FLOAT,true,false,1", "FLOAT,true,true,0",
            "DOUBLE,false,false,1", "DOUBLE,false,true,0", "DOUBLE,true,false,0", "DOUBLE,true,true,1"})
    void plainProductMatchesLoops(DataType type, boolean ta, boolean tb, double beta) {
        int m = 6, k = 11, n = 5;
        Nd4j.getRandom().setSeed(23);
        INDArray bigA = Nd4j.rand(type, ta ? new long[]{k + 2, m} : new long[]{m + 2, k}).subi(0.5);
        INDArray a = bigA.get(NDArrayIndex.interval(2, bigA.size(0)), NDArrayIndex.all());
        INDArray b = Nd4j.rand(type, tb ? new long[]{n, k} : new long[]{k, n}).subi(0.5);
        INDArray bigC = Nd4j.rand(type, m + 1, n);
        INDArray c = bigC.get(NDArrayIndex.interval(1, m + 1), NDArrayIndex.all());
        assertThat(BatchedGemm.available(a, b, c)).isTrue();
        double[][] expected = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = beta * c.getDouble(i, j);
                for (int p = 0; p < k; p++) sum += (ta ? a.getDouble(p, i) : a.getDouble(i, p)) * (tb ? b.getDouble(j, p) : b.getDouble(p, j));
                expected[i][j] = sum;
            }
        }
        double before = bigC.getDouble(0, 0);
        Profiler.enable(true);
        try {
            Profiler.reset();
            BatchedGemm.gemm(a, b, c, ta, tb, beta);
            assertThat(Profiler.gemmFlops()).isEqualTo(2L * m * n * k);
        } finally {
            Profiler.enable(false);
        }
        double tol = type == DataType.FLOAT ? 1e-5 : 1e-12;
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) assertThat(c.getDouble(i, j)).isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(tol));
        assertThat(bigC.getDouble(0, 0)).as("the row before the view").isEqualTo(before);
    }
}
