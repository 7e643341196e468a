package io.peft4j.prompt.classify;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Calibration;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Zero-shot on the real BERT-base-uncased, on a task anyone can check: is an opinion word (Hu and Liu's lexicon,
 * e.g. "accolade", "abysmal") positive or negative? Template {@code "{text}. It was {mask}."}, label words great /
 * terrible (LM-BFF's SST-2 words). No training.
 */
class BertBaseZeroShotTest {
    private static final Logger LOG = LoggerFactory.getLogger(BertBaseZeroShotTest.class);

    @Test
    void opinionWordsAreClassifiedWellAboveChance() throws Exception {
        Path dir = ModelHub.resolve("bert-base-uncased");
        PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT), "bert-base-uncased");
        Tokenizer tok = Tokenizers.load(dir);
        List<Map<String, String>> records = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<String> lines = Files.readAllLines(Fixtures.resource("datasets/opinion-words/dev.jsonl"));
        for (int i = 0; i < lines.size(); i += 3) {          // every third word: 324 words, 98 positive
            JsonNode n = Json.MAPPER.readTree(lines.get(i));
            records.add(Map.of("text", n.get("text").asText()));
            labels.add(n.get("label").asText());
        }
        PromptClassifier clf = PromptClassifier.of(model, tok, Template.parse("{text}. It was {mask}."), Verbalizer.parse("positive=great;negative=terrible"));
        clf.verbalizer().checkLabels(labels, "opinion-words/dev.jsonl");
        long t0 = System.nanoTime();
        double[][] scores = clf.classScores(records, 64);
        long t1 = System.nanoTime();
        Calibration naCalibration = clf.contentFreeCalibration();
        double[] plain = accuracy(Calibration.none().apply(scores), labels, clf), calibrated = accuracy(naCalibration.apply(scores), labels, clf);
        LOG.info("BERT-base zero-shot on {} opinion words: accuracy {} (balanced {}), with N/A calibration {} (balanced {}); scoring took {} s",
                records.size(), plain[0], plain[1], calibrated[0], calibrated[1], (t1 - t0) / 1e9);
        // measured: 0.710 / balanced 0.778 uncalibrated and 0.805 / 0.831 calibrated on all 971 words; chance is a
        // balanced accuracy of 0.5, and always answering "negative" scores 0.70 here
        assertThat(plain[1]).as("balanced accuracy").isGreaterThan(0.70);
        assertThat(calibrated[0]).as("calibrated accuracy").isGreaterThan(0.75);
        assertThat(calibrated[1]).as("calibrated balanced accuracy").isGreaterThan(0.75);
        assertThat(clf.predict(List.of(Map.of("text", "wonderful"), Map.of("text", "dreadful")), 2)).containsExactly(0, 1);
    }

    /** {accuracy, balanced accuracy (the mean of the per-class recalls)} of the largest log-probability. */
    private static double[] accuracy(double[][] logProbs, List<String> labels, PromptClassifier clf) {
        int[] pred = new int[logProbs.length];
        for (int i = 0; i < pred.length; i++) pred[i] = logProbs[i][0] >= logProbs[i][1] ? 0 : 1;
        int ok = 0;
        int[] right = new int[2], total = new int[2];
        for (int i = 0; i < pred.length; i++) {
            int y = clf.labelIndex(labels.get(i));
            total[y]++;
            if (pred[i] == y) {
                ok++;
                right[y]++;
            }
        }
        return new double[]{(double) ok / pred.length, ((double) right[0] / total[0] + (double) right[1] / total[1]) / 2};
    }
}
