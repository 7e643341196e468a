package io.peft4j.prompt;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Methods on packed rows (several examples in one row, kept apart by segment ids): LoRA, prefix tuning, prompt tuning
 * and P-tuning train on a packed row exactly as on its examples one by one. The prefix keys and the virtual tokens are
 * shared by the row's examples: a virtual token sees only the prefix and the virtual tokens before it, so it is the same
 * for every example, and each example sees them and then its own tokens, its positions counted after them, as alone.
 *
 * <p>The loss of a packed row equals the token-weighted mean of its examples' losses within 1e-5 in float32. The
 * adapter's gradients from a packed row equal those from the unpacked examples (one padded batch, the same mean over the
 * same targets): within 1e-10 of the largest gradient in float64, which shows the two compute the same function, and within
 * 1e-4 of it in float32, where only the summation order differs (a float32 sum of a few hundred terms is off by a few
 * units of 1e-7 relative; 1e-4 leaves room without letting a masking error, which moves gradients by O(1), through).
 */
class PackedMethodsTest {
    private static PeftConfig config(String method) {
        return switch (method) {
            case "lora" -> LoraConfig.defaults().withR(2).withDropout(0);
            case "prefix" -> PrefixTuningConfig.of(3);
            case "prompt" -> PromptTuningConfig.sampleVocab(3);
            case "ptuning" -> PTuningConfig.mlp(2, 8);
            default -> throw new IllegalArgumentException(method);
        };
    }

    private static List<Example.Lm> examples(int vocab) {
        Random rnd = new Random(11);
        List<Example.Lm> out = new ArrayList<>();
        for (int[] s : new int[][]{{2, 4}, {1, 2}, {4, 3}}) {
            out.add(Example.Lm.response(rnd.ints(s[0], 3, vocab).toArray(), rnd.ints(s[1], 3, vocab).toArray()));
        }
        return out;
    }

    private static PeftModel model(String fixture, String method, DataType type) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), type));
        Adapter a = m.add("default", config(method), 7);
        // LoRA starts with B = 0, where A has no gradient: give B values so that both are checked
        Nd4j.getRandom().setSeed(3);
        a.parameters().forEach((k, p) -> {
            if (k.contains("lora_B")) p.value().assign(Nd4j.randn(p.value().dataType(), p.value().shape()).muli(0.1));
        });
        return m;
    }

    private static Tensor loss(PeftModel m, List<Example.Lm> batch) {
        return Objectives.causalLm(0).loss(m, batch, ForwardContext.inference(batch.size()));
    }

    private static Map<String, INDArray> gradients(PeftModel m, List<Example.Lm> batch) {
        Map<String, Tensor> params = m.adapter("default").parameters();
        params.values().forEach(Tensor::zeroGrad);
        loss(m, batch).backward();
        Map<String, INDArray> g = new LinkedHashMap<>();
        params.forEach((k, p) -> g.put(k, p.grad().dup()));
        return g;
    }

    @ParameterizedTest
    @CsvSource({"gpt2-tiny,lora", "llama-tiny,lora", "gpt2-tiny,prefix", "llama-tiny,prefix", "gpt2-tiny,prompt", "llama-tiny,prompt",
            "llama-tiny,ptuning"})
    void packedRowTrainsAsItsExamplesOneByOne(String fixture, String method) {
        PeftModel m = model(fixture, method, DataType.FLOAT);
        List<Example.Lm> ex = examples(m.base().config().vocabSize());
        double sum = 0, n = 0;
        for (Example.Lm e : ex) {
            double targets = java.util.Arrays.stream(e.lossMask()).skip(1).sum();
            sum += targets * loss(m, List.of(e)).value().getDouble(0);
            n += targets;
        }
        assertThat(loss(m, List.of(Fixtures.packRow(ex))).value().getDouble(0)).as("%s %s: packed row's loss", fixture, method).isCloseTo(sum / n, within(1e-5));
        assertGradientsAgree(m, ex, 1e-4, fixture + " " + method + " float32");
        assertGradientsAgree(model(fixture, method, DataType.DOUBLE), ex, 1e-10, fixture + " " + method + " float64");
    }

    private static void assertGradientsAgree(PeftModel m, List<Example.Lm> ex, double tol, String what) {
        Map<String, INDArray> packed = gradients(m, List.of(Fixtures.packRow(ex))), unpacked = gradients(m, ex);
        packed.forEach((k, g) -> {
            double scale = unpacked.get(k).amaxNumber().doubleValue();
            assertThat(scale).as("%s: %s has a gradient", what, k).isGreaterThan(1e-8);
            double diff = g.sub(unpacked.get(k)).amaxNumber().doubleValue();
            assertThat(diff / scale).as("%s: %s packed against unpacked, relative to its largest entry", what, k).isLessThan(tol);
        });
    }
}
