package io.peft4j.instruct;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Each scheme, on the tiny BERT: trained on a mixture of two tasks under two instructions each (100 steps of 8), its loss goes down and it learns
 * them (at least 11 of 12 dev records right under the first instruction of each). */
class SchemesTest {
    private static PeftConfig config(Scheme s) {
        return switch (s) {
            case PROMPT -> LoraConfig.defaults().withR(4).withAlpha(8);
            case PREFIX -> new InstructionPrefixConfig(4, 8);
            case HYPER -> new HyperLoraConfig(4, 8, null, 8);
        };
    }

    @ParameterizedTest
    @EnumSource(Scheme.class)
    void eachSchemeTrainsOnAMixtureAndScores(Scheme scheme, @TempDir Path tmp) throws Exception {
        Path dir = TinyInstruct.model(tmp);
        Tokenizer tok = Tokenizers.load(dir);
        PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT), "bert-tiny");
        List<InstructTask> tasks = List.of(TinyInstruct.task("polarity", 24, 12), TinyInstruct.task("animal", 24, 12));
        List<InstructExample> examples = new ArrayList<>();
        Random rnd = new Random(3);
        for (int k = 0; k < 800; k++) {
            InstructTask t = tasks.get(rnd.nextInt(2));
            var r = t.train().get(rnd.nextInt(t.train().size()));
            List<Instruction> train = t.instructions().split(2).train();
            examples.add(InstructExample.of(t.name(), train.get(rnd.nextInt(2)), r.fields(), r.label()));
        }
        try (InstructionModel im = InstructionModel.create(scheme, model, tok, config(scheme), 32, 5)) {
            assertThat(model.adapters()).extracting(a -> a.name()).containsExactly(InstructionModel.ADAPTER);
            assertThat(im.trainableParameters()).isEqualTo(model.parameterCount().trainable()).isPositive();
            TrainingResult r = im.train(examples, TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(8, 1).withMaxSteps(100).withSeed(1));
            List<Double> l = r.losses();
            double first = l.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = l.subList(l.size() - 10, l.size()).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            System.out.printf("%s: loss %.4f -> %.4f%n", scheme, first, last);
            assertThat(last).as("mean loss of the last 10 steps against the first 5").isLessThan(0.75 * first);
            for (InstructTask t : tasks) {
                Instruction trained = t.instructions().split(2).train().get(0);
                ClassificationReport rep = im.evaluate(trained, t.dev(), 8);
                System.out.printf("%s %s %s: %.3f%n", scheme, t.name(), trained.id(), rep.accuracy());
                assertThat(rep.accuracy()).as(t.name()).isGreaterThanOrEqualTo(11 / 12.0);     // chance: 0.5
                assertThat(rep.n()).isEqualTo(12);
            }
        }
        assertThat(model.adapters()).isEmpty();
    }
}
