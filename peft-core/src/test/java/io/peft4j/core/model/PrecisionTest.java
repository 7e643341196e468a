package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Weight matrices kept in BF16 or F16 under FP32 compute: the model computes exactly what an FP32 model with those
 * rounded weights computes (forward, the key/value cache, and the gradients reaching a trainable module through
 * the frozen base), with half the weight memory; its distance from the full-precision reference is the rounding's.
 */
class PrecisionTest {
    private static final Logger LOG = LoggerFactory.getLogger(PrecisionTest.class);

    /** An FP32 model whose matrices are rounded to {@code storage} and widened back in place: the same numbers, kept wide. */
    private static TransformerModel rounded(String fixture, DataType storage) {
        TransformerModel m = Models.load(Fixtures.dir(fixture), DataType.FLOAT);
        for (Tensor t : m.parameters().values()) {
            if (t.rank() >= 2) t.value().assign(t.value().castTo(storage).castTo(DataType.FLOAT));
        }
        return m;
    }

    private static INDArray logits(TransformerModel m, Batch b) {
        return m.lmLogits(m.forward(b, ForwardContext.inference(b.size())).hidden()).value();
    }

    @ParameterizedTest
    @CsvSource({"llama-tiny,BFLOAT16", "llama-tiny,HALF", "qwen2-tiny,BFLOAT16", "gpt2-tiny,BFLOAT16", "bert-tiny,HALF"})
    void narrowStorageComputesAsFp32WithRoundedWeights(String fixture, DataType storage) {
        TransformerModel narrow = Models.load(Fixtures.dir(fixture), Precision.storedAs(storage));
        long wideBytes = 0, narrowBytes = 0;
        for (var e : narrow.parameters().entrySet()) {
            Tensor t = e.getValue();
            assertThat(t.dataType()).as(e.getKey()).isEqualTo(t.rank() >= 2 ? storage : DataType.FLOAT);
            narrowBytes += t.value().length() * t.value().data().getElementSize();
            wideBytes += t.value().length() * 4L;
        }
        assertThat(narrow.dataType()).isEqualTo(DataType.FLOAT);
        assertThat((double) narrowBytes / wideBytes).isLessThan(0.56);          // matrices halved; norms and biases are few
        JsonNode exp = Fixtures.expected(fixture);
        Batch b = new Batch(new int[][]{Fixtures.ints(exp.get("input_ids"))}, null, null);
        if (fixture.startsWith("bert")) b = new Batch(new int[][]{java.util.Arrays.copyOf(Fixtures.ints(exp.get("input_ids")), 8)}, null, null);
        INDArray got = logits(narrow, b);
        assertThat(got.dataType()).isEqualTo(DataType.FLOAT);
        double same = got.sub(logits(rounded(fixture, storage), b)).amaxNumber().doubleValue();
        assertThat(same).as("against FP32 with the rounded weights").isLessThan(2e-5);
        if (exp.has("logits")) {
            double ref = got.slice(0).sub(Nd4j.create(matrix(exp.get("logits"))).castTo(DataType.FLOAT)).amaxNumber().doubleValue();
            LOG.info("{} with {} weights: max abs logit difference from the reference {}", fixture, storage, ref);
            assertThat(ref).as("rounding's effect on the logits").isLessThan(storage == DataType.HALF ? 5e-2 : 0.5);
        }
    }

    @Test
    void generationAndGradientsThroughANarrowBase() {
        TransformerModel narrow = Models.load(Fixtures.dir("llama-tiny"), Precision.storedAs(DataType.BFLOAT16));
        TransformerModel wide = rounded("llama-tiny", DataType.BFLOAT16);
        int[] prompt = Fixtures.ints(Fixtures.expected("llama-tiny").get("input_ids"));
        assertThat(Generator.generate((Decoder) narrow, prompt, 6, 0, 0, -1)).containsExactly(Generator.generate((Decoder) wide, prompt, 6, 0, 0, -1));
        INDArray[] grads = new INDArray[2];
        int i = 0;
        for (TransformerModel m : new TransformerModel[]{narrow, wide}) {
            Tensor shift = Tensor.parameter(Nd4j.linspace(-1, 1, 16).castTo(DataType.FLOAT).reshape(16));
            m.hooks().add("layers.0.self_attn.k_proj", new LinearHook() {
                @Override
                public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                    return Ops.add(y, shift);
                }
            });
            Tensor logits = m.lmLogits(m.forward(Batch.of(prompt), new ForwardContext(1, null, true, 0)).hidden());
            Ops.sum(Ops.mul(logits, Tensor.constant(Nd4j.linspace(-1, 1, logits.value().length()).castTo(DataType.FLOAT).reshape(logits.shape()))))
                    .backward();
            grads[i++] = shift.grad().dup();
        }
        double scale = grads[1].amaxNumber().doubleValue();
        assertThat(scale).isGreaterThan(1e-3);
        assertThat(grads[0].sub(grads[1]).amaxNumber().doubleValue() / scale).isLessThan(1e-4);
    }

    @Test
    void fullFineTuningAndUnsupportedPairsAreRefused() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), Precision.storedAs(DataType.HALF)));
        assertThatThrownBy(m::unfreezeBase).isInstanceOf(IllegalStateException.class).hasMessageContaining("full fine-tuning needs");
        assertThatThrownBy(() -> new Precision(DataType.DOUBLE, DataType.BFLOAT16)).isInstanceOf(PeftException.class)
                .hasMessageContaining("BFLOAT16 with DOUBLE compute is not supported");
        assertThatThrownBy(() -> Precision.of(DataType.BFLOAT16)).isInstanceOf(PeftException.class);
    }
}
