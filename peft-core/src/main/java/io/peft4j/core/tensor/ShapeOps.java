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
        INDArray x2 = flatRows(contiguous(x.value()));
        long[] os = xs.clone();
        os[0] = rows.length;
        INDArray v = Nd4j.createUninitialized(x.value().dataType(), rows.length, x2.size(1));
        forEachRun(rows, (at, from, len) -> v.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())
                .assign(x2.get(NDArrayIndex.interval(from, from + len), NDArrayIndex.all())));
        return Tensor.result(v.reshape('c', os), g -> {
            INDArray full = Nd4j.zeros(g.dataType(), xs[0], x2.size(1));
            INDArray g2 = flatRows(contiguous(g));
            forEachRun(rows, (at, from, len) -> full.get(NDArrayIndex.interval(from, from + len), NDArrayIndex.all())
                    .addi(g2.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())));
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
        INDArray o2 = flatRows(out), d2 = flatRows(contiguous(d.value()));
        forEachRun(rows, (at, to, len) -> o2.get(NDArrayIndex.interval(to, to + len), NDArrayIndex.all())
                .addi(d2.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())));
        return Tensor.result(out, g -> {
            if (y.requiresGrad()) y.accumulate(g);
            if (d.requiresGrad()) {
                INDArray g2 = flatRows(contiguous(g));
                INDArray gd = Nd4j.createUninitialized(g.dataType(), rows.length, g2.size(1));
                forEachRun(rows, (at, from, len) -> gd.get(NDArrayIndex.interval(at, at + len), NDArrayIndex.all())
                        .assign(g2.get(NDArrayIndex.interval(from, from + len), NDArrayIndex.all())));
                d.accumulate(gd.reshape('c', ds));
            }
        }, y, d);
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
