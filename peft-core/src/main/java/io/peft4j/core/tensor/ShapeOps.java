package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static io.peft4j.core.tensor.OpSupport.contiguous;

/**
 * Shape ops and their backward: {@link Ops#reshape}, {@link Ops#permute}, {@link Ops#narrow(Tensor, int, long, long)},
 * {@link Ops#concat}.
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
}
