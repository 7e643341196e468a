package io.peft4j.core.tensor;

import io.peft4j.core.tensor.Ops.Gelu;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

import static io.peft4j.core.tensor.OpSupport.contiguous;

/**
 * Activations and their backward: {@link Ops#gelu}, {@link Ops#tanh}, {@link Ops#sigmoid}, {@link Ops#relu},
 * {@link Ops#silu}.
 */
final class ActivationOps {
    private ActivationOps() {
    }

    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    static Tensor gelu(Tensor x, Gelu kind) {
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE);
        INDArray xv = contiguous(x.value());
        boolean grad = x.requiresGrad();
        INDArray d = grad ? Tensor.newSaved(xv.dataType(), xv.shape()) : null;
        if (FloatKernels.applies(xv)) {
            INDArray y = Nd4j.createUninitialized(xv.dataType(), xv.shape(), 'c');
            GeluKernel.apply(xv, kind, y, d);
            t.stop();
            return geluResult(x, y, d);
        }
        var blas = Nd4j.getBlasWrapper().level1();
        INDArray aux;
        if (kind == Gelu.ERF) {
            aux = xv.mul(SQRT_HALF);
            Nd4j.exec(new Erf(aux, aux));                                       // erf(x/√2)
            if (grad) {
                d.assign(xv).muli(xv).muli(-0.5);
                Transforms.exp(d, false).muli(INV_SQRT_2PI).muli(xv);           // x·φ(x)
                aux.addi(1.0);
                blas.axpy(d.length(), 0.5, aux, d);                             // + Φ(x) = (1 + erf)/2
            } else {
                aux.addi(1.0);
            }
        } else {
            aux = xv.mul(xv).muli(0.044715).addi(1.0).muli(xv).muli(SQRT_2_OVER_PI);
            Transforms.tanh(aux, false);                                        // tanh(√(2/π)(x + 0.044715x³))
            if (grad) {
                d.assign(xv).muli(xv).muli(3 * 0.044715).addi(1.0).muli(SQRT_2_OVER_PI).muli(xv).muli(0.5);
                d.muli(aux.mul(aux).rsubi(1.0));                                // ½x·sech²(u)·du/dx
            }
            aux.addi(1.0);
            if (grad) blas.axpy(d.length(), 0.5, aux, d);                       // + (1 + tanh)/2
        }
        INDArray y = aux.muli(xv).muli(0.5);
        t.stop();
        return geluResult(x, y, d);
    }

    private static Tensor geluResult(Tensor x, INDArray y, INDArray d) {
        if (d == null) return Tensor.result(y, null, x);
        INDArray derivative = Tensor.save(d);
        return Tensor.result(y, g -> x.accumulate(g.mul(derivative)), x);
    }

    static Tensor tanh(Tensor x) {
        INDArray y = Transforms.tanh(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(yk.mul(yk).rsubi(1.0).muli(g)), x);
    }

    static Tensor sigmoid(Tensor x) {
        INDArray y = Transforms.sigmoid(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(yk.rsub(1.0).muli(yk).muli(g)), x);
    }

    static Tensor relu(Tensor x) {
        INDArray y = Transforms.relu(x.value(), true);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray yk = Tensor.save(y);
        return Tensor.result(y, g -> x.accumulate(FloatKernels.applies(g, yk) && Arrays.equals(g.shape(), yk.shape())
                ? FloatKernels.reluGrad(g, yk) : g.mul(yk.gt(0).castTo(g.dataType()))), x);
    }

    static Tensor silu(Tensor x) {
        INDArray s = Transforms.sigmoid(x.value(), true);
        INDArray xv = x.value();
        INDArray y = xv.mul(s);
        if (!x.requiresGrad()) return Tensor.result(y, null, x);
        INDArray sk = Tensor.save(s), xk = Tensor.save(xv);
        return Tensor.result(y, g -> x.accumulate(sk.rsub(1.0).muli(xk).addi(1.0).muli(sk).muli(g)), x);
    }
}
