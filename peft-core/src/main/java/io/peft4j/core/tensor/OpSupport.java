package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Helpers the op families share: contiguous views, the storage-only types, and summing a broadcast gradient
 * back down to its operand's shape.
 */
final class OpSupport {
    private OpSupport() {
    }

    /** {@code x} itself, unless it is a view that is not dense row-major: then a row-major copy. */
    static INDArray contiguous(INDArray x) {
        return x.isView() && !(x.ordering() == 'c' && x.elementWiseStride() == 1) ? x.dup('c') : x;
    }

    /** Whether {@code shape} is {@code [n]} or {@code [1, ..., 1, n]} with n the last dimension of {@code g}, g of rank 2 or more. */
    static boolean isTrailingShape(long[] shape, INDArray g) {
        if (shape.length == 0 || shape.length > g.rank() || g.rank() < 2) return false;
        long n = g.size(g.rank() - 1);
        if (shape[shape.length - 1] != n) return false;
        for (int i = 0; i < shape.length - 1; i++) if (shape[i] != 1) return false;
        return true;
    }

    /** Sums a broadcast gradient back down to {@code shape}. */
    static INDArray reduceTo(INDArray g, long[] shape) {
        if (Arrays.equals(g.shape(), shape)) return g;
        if (isTrailingShape(shape, g) && FloatKernels.applies(g)) return FloatKernels.columnDot(g, null).reshape(shape);
        int extra = g.rank() - shape.length;
        int[] dims = new int[g.rank()];
        int n = 0;
        for (int i = 0; i < g.rank(); i++) {
            if (i < extra || (shape[i - extra] == 1 && g.size(i) != 1)) dims[n++] = i;
        }
        INDArray s = n == 0 ? g : g.sum(true, Arrays.copyOf(dims, n));
        return s.reshape(shape);
    }

    /** Whether {@code t} is a storage-only type (BF16, F16): arrays of it are widened before any arithmetic. */
    static boolean narrow(DataType t) {
        return t == DataType.BFLOAT16 || t == DataType.HALF;
    }
}
