package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static io.peft4j.core.tensor.OpSupport.contiguous;

/**
 * Shape ops and their backward: {@link Ops#reshape}, {@link Ops#permute}, {@link Ops#narrow(Tensor, int, long, long)},
 * {@link Ops#concat}, and the row gather and scatter-add {@link Ops#rows} and {@link Ops#addToRows}.
 */
final class ShapeOps {
    private ShapeOps() {
    }

    static Tensor reshape(Tensor x, long... shape) {
        long[] xs = x.shape();
        INDArray v = contiguous(x.value()).reshape('c', shape);
        return Tensor.result(v, g -> x.accumulate(g.reshape('c', xs)), x);
    }

    static Tensor permute(Tensor x, int... dims) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray v = x.value().permute(dims).dup('c');
        t.stop();
        int[] inverse = new int[dims.length];
        for (int i = 0; i < dims.length; i++) inverse[dims[i]] = i;
        return Tensor.result(v, g -> x.accumulate(g.permute(inverse).dup('c')), x);
    }

    static Tensor narrow(Tensor x, int dim, long start, long length) {
        INDArray v = x.value().get(range(x.rank(), dim, start, length)).dup('c');
        long[] xs = x.shape();
        return Tensor.result(v, g -> {
            INDArray full = Nd4j.zeros(g.dataType(), xs);
            full.get(range(xs.length, dim, start, length)).assign(g);
            x.accumulate(full);
        }, x);
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex[] range(int rank, int dim, long start, long length) {
        org.nd4j.linalg.indexing.INDArrayIndex[] idx = new org.nd4j.linalg.indexing.INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) idx[i] = i == dim ? NDArrayIndex.interval(start, start + length) : NDArrayIndex.all();
        return idx;
    }

    static Tensor concat(int dim, Tensor... ts) {
        INDArray[] vs = new INDArray[ts.length];
        for (int i = 0; i < ts.length; i++) vs[i] = contiguous(ts[i].value());
        INDArray v = Nd4j.concat(dim, vs);
        return Tensor.result(v, g -> {
            long off = 0;
            for (Tensor t : ts) {
                long len = t.size(dim);
                if (t.requiresGrad()) t.accumulate(g.get(range(g.rank(), dim, off, len)).dup('c'));
                off += len;
            }
        }, ts);
    }

    static Tensor rows(Tensor x, int[] rows) {
        long[] xs = x.shape();
        long[] os = xs.clone();
        os[0] = rows.length;
        INDArray x2 = flatRows(contiguous(x.value()));
        long rest = x2.size(1);
        return Tensor.result(gather(x2, rows).reshape('c', os), g -> {
            INDArray full = Nd4j.zeros(g.dataType(), xs[0], rest);
            scatterAdd(full, rows, flatRows(contiguous(g)));
            x.accumulate(full.reshape('c', xs));
        }, x);
    }

    static Tensor addToRows(Tensor y, int[] rows, Tensor d) {
        long[] ys = y.shape(), ds = d.shape();
        if (ds[0] != rows.length || d.value().length() / ds[0] != y.value().length() / ys[0]) {
            throw new IllegalArgumentException("addToRows: " + java.util.Arrays.toString(ds) + " for " + rows.length + " rows of "
                    + java.util.Arrays.toString(ys));
        }
        INDArray out = y.value().dup('c');
        scatterAdd(flatRows(out), rows, flatRows(contiguous(d.value())));
        return Tensor.result(out, g -> {
            if (y.requiresGrad()) y.accumulate(g);
            if (d.requiresGrad()) d.accumulate(gather(flatRows(contiguous(g)), rows).reshape('c', ds));
        }, y, d);
    }

    /** Rows {@code rows} of {@code src [n, rest]}, in that order, as a new {@code [rows.length, rest]}. */
    private static INDArray gather(INDArray src, int[] rows) {
        INDArray out = Nd4j.createUninitialized(src.dataType(), rows.length, src.size(1));
        forEachRun(rows, (at, row, len) -> out.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())
                .assign(src.get(NDArrayIndex.interval(row, row + len), NDArrayIndex.all())));
        return out;
    }

    /** Adds row i of {@code src [rows.length, rest]} into row {@code rows[i]} of {@code target [n, rest]}, in place. */
    private static void scatterAdd(INDArray target, int[] rows, INDArray src) {
        forEachRun(rows, (at, row, len) -> target.get(NDArrayIndex.interval(row, row + len), NDArrayIndex.all())
                .addi(src.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())));
    }

    /** {@code [n, ...]} viewed as {@code [n, rest]} (x contiguous). */
    private static INDArray flatRows(INDArray x) {
        return x.reshape('c', x.size(0), x.length() / x.size(0));
    }

    /** A run of consecutive row indices: list position {@code at}, rows {@code row .. row + length - 1}. */
    @FunctionalInterface
    private interface Run {
        void apply(long at, long row, long length);
    }

    /** Calls {@code run} once per maximal run of consecutive indices in {@code rows} (a sorted selection is one run per block). */
    private static void forEachRun(int[] rows, Run run) {
        int i = 0;
        while (i < rows.length) {
            int j = i + 1;
            while (j < rows.length && rows[j] == rows[j - 1] + 1) j++;
            run.apply(i, rows[i], j - i);
            i = j;
        }
    }
}
