package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Central finite differences in float64 against the analytic gradients of {@link Tensor#backward()}. */
public final class GradCheck {
    private GradCheck() {
    }

    /** A fixed random projection turns any output into the scalar {@code sum(out * R)}. */
    public static Tensor project(Tensor out, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray r = Nd4j.randn(DataType.DOUBLE, out.shape());
        return Ops.sum(Ops.mul(out, Tensor.constant(r)));
    }

    /**
     * Checks d(loss)/d(param) for every element of every parameter (at most {@code maxPerParam} sampled
     * elements each). Returns the largest relative error seen.
     */
    public static double check(Supplier<Tensor> loss, List<Tensor> params, int maxPerParam, double tol) {
        for (Tensor p : params) p.zeroGrad();
        loss.get().backward();
        double worst = 0;
        for (Tensor p : params) {
            assertThat(p.grad()).as("gradient of %s", p).isNotNull();
            INDArray v = p.value();
            INDArray analytic = p.grad().dup();
            long n = v.length();
            long step = Math.max(1, n / maxPerParam);
            for (long i = 0; i < n; i += step) {
                double orig = v.getDouble(i);
                double h = 1e-6;
                v.putScalar(i, orig + h);
                double up = loss.get().value().getDouble(0);
                v.putScalar(i, orig - h);
                double down = loss.get().value().getDouble(0);
                v.putScalar(i, orig);
                double numeric = (up - down) / (2 * h);
                double a = analytic.getDouble(i);
                double err = Math.abs(a - numeric) / Math.max(1.0, Math.abs(numeric));
                worst = Math.max(worst, err);
                assertThat(err).as("d/d%s[%d]: analytic %s vs numeric %s", p, i, a, numeric).isLessThan(tol);
            }
        }
        return worst;
    }

    public static Tensor param(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Tensor.parameter(Nd4j.randn(DataType.DOUBLE, shape));
    }
}
