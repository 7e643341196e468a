package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.FloatBuffer;
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

    static FloatBuffer buf(INDArray a) {
        return a.data().asNioFloat();
    }

    static int off(INDArray a) {
        return (int) a.offset();
    }
}
