package io.peft4j.prompt;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The code of docs/prompting.md, compiled and run on the tiny BERT with its hand-made tokenizer instead of
 * BERT-base (hidden size 32 instead of 768); keep the two in step.
 */
class PromptingGuideTest {
    @Test
    void theGuidesExamplesRun(@TempDir Path tmp) {
        Path dir = Fixtures.dir("bert-tiny");
        PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT), "bert-tiny");
        Tokenizer tokenizer = TinyTokenizers.bert();

        PromptClassifier clf = PromptClassifier.of(model, tokenizer,
                Template.parse("{text}. It was {mask}."), Verbalizer.parse("positive=great;negative=terrible"));
        List<Map<String, String>> words = List.of(Map.of("text", "wonderful"), Map.of("text", "dreadful"));
        int[] predicted = clf.predict(words, 32);                                 // indexes into clf.labels()
        PromptClassifier calibrated = clf.withCalibration(clf.contentFreeCalibration());   // "N/A"
        double[][] logProbs = calibrated.logProbabilities(words, 32);             // [2, 2], rows sum to 1 in exp
        assertThat(predicted).hasSize(2);
        assertThat(Math.exp(logProbs[0][0]) + Math.exp(logProbs[0][1])).isCloseTo(1.0, within(1e-6));

        List<String> texts = List.of("the movie was great", "the movie was awful"), labels = List.of("positive", "negative");
        List<PromptClassifier.Example> dev = List.of(clf.example(Map.of("text", "a great film"), "positive"));
        model.add("default", LoraConfig.defaults().withR(8));                    // or any other method, or none
        List<PromptClassifier.Example> train = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) train.add(clf.example(Map.of("text", texts.get(i)), labels.get(i)));
        var cfg = TrainingConfig.defaults().withLearningRate(1e-3).withBatchSize(8, 1).withEpochs(5);
        new Trainer<>(model, PromptClassifier.objective(), cfg).fit(train, dev, PromptClassifier.accuracy(32));

        model.setHead(ClassificationHead.classification(Pooling.CLS, List.of("ham", "spam"), 32, DataType.FLOAT, 42));
        PromptClassifier headed = PromptClassifier.builder(model, tokenizer, Template.parse("{text} It was {mask}."))
                .head(PromptClassifier.HeadInput.MASK).build();
        assertThat(headed.labels()).containsExactly("ham", "spam");

        Path out = tmp.resolve("out");
        AtomicFiles.writeDirectory(out, t -> {
            model.writeFiles(t);
            clf.writeFiles(t);
        });
        PeftModel again = PeftModel.of(Models.load(dir, DataType.FLOAT), "bert-tiny");
        again.load(out, "default");
        PromptClassifier back = PromptClassifier.read(again, tokenizer, out);
        double[][] before = clf.classScores(words, 2), after = back.classScores(words, 2);
        for (int i = 0; i < 2; i++) assertThat(after[i]).containsExactly(before[i], within(1e-6));
    }
}
