package io.peft4j.adapter.bottleneck;

import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.assertj.core.api.Assertions.assertThat;

class BottleneckDropoutTest {
    /**
     * AdapterHub drops the adapter's output ({@code dropout(up(f(down(x))) · scaling)}), not its bottleneck: with
     * dropout p every element of the training-time contribution is 0 or the inference-time one / (1 - p), about a
     * fraction p of them 0. Dropping the bottleneck instead would mix partial sums into each element.
     */
    @Test
    void dropoutZeroesOrRescalesEachElementOfTheAdaptersOutput() {
        double p = 0.25;
        BottleneckConfig cfg = BottleneckConfig.of(Architecture.PARALLEL).withDropout(p);
        int d = 16, r = 8, rows = 40;
        Tensor down = GradCheck.param(1, r, d), downBias = GradCheck.param(2, r), up = GradCheck.param(3, d, r), upBias = GradCheck.param(4, d);
        BottleneckLayer layer = new BottleneckLayer(cfg, down, downBias, up, upBias, 7, ctx -> Adapter.RowSelection.ALL);
        Tensor x = Tensor.constant(GradCheck.param(5, 2, rows / 2, d).value());
        Tensor h = Tensor.constant(Nd4j.zeros(x.value().dataType(), 2, rows / 2, d));
        INDArray eval = layer.apply(x, h, t -> t, ForwardContext.inference(2)).value();
        INDArray train = layer.apply(x, h, t -> t, new ForwardContext(2, null, true, 11)).value();
        double[] e = eval.ravel().toDoubleVector(), t = train.ravel().toDoubleVector();
        int zeros = 0;
        for (int i = 0; i < e.length; i++) {
            assertThat(Math.abs(e[i])).as("element %d of the inference output", i).isGreaterThan(1e-9);
            if (t[i] == 0) zeros++;
            else assertThat(t[i]).as("element %d", i).isCloseTo(e[i] / (1 - p), org.assertj.core.data.Offset.offset(1e-12));
        }
        assertThat((double) zeros / e.length).isBetween(p - 0.06, p + 0.06);      // 640 draws: p ± 3.5 sd
        INDArray again = layer.apply(x, h, t2 -> t2, ForwardContext.inference(2)).value();
        assertThat(again.equals(eval)).as("inference applies no dropout").isTrue();
    }
}
