package io.peft4j.prompt.mining;

import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prompt mining on the real BERT-base-uncased, on a task anyone can check: is an opinion word (Hu and Liu's lexicon,
 * the built-in {@code opinion-words}) positive or negative? The lexicon itself judges the mined words.
 */
class BertBaseMiningTest {
    private static final Logger LOG = LoggerFactory.getLogger(BertBaseMiningTest.class);
    private static PeftModel model;
    private static Tokenizer tok;
    private static final Map<String, String> LEXICON = new HashMap<>();

    @BeforeAll
    static void load() {
        Path dir = ModelHub.resolve("bert-base-uncased");
        model = PeftModel.of(Models.load(dir, DataType.FLOAT), "bert-base-uncased");
        tok = Tokenizers.load(dir);
        for (Split s : Split.values()) for (TextRecord r : Datasets.load("opinion-words", s)) LEXICON.put(r.field("text"), r.label());
    }

    private static List<TextRecord> every(List<TextRecord> records, int step) {
        List<TextRecord> out = new ArrayList<>();
        for (int i = 0; i < records.size(); i += step) out.add(records.get(i));
        return out;
    }

    private static ClassificationReport report(PromptClassifier clf, List<TextRecord> records) {
        int[] predicted = clf.predict(records.stream().map(TextRecord::fields).toList(), 64);
        int[] gold = records.stream().mapToInt(r -> clf.labelIndex(r.label())).toArray();
        return ClassificationReport.of(clf.labels(), gold, predicted);
    }

    /**
     * 32 words per label (seed 42), template {@code {text}. It was {mask}.}, the defaults (3 words per label, pools of
     * 100, PETAL's log-odds). Measured: negative = worse, disgusting, bad; positive = love, glorious, heaven (all six in
     * the lexicon with their label); zero-shot with them on every sixth dev word (162): accuracy 0.870 (majority baseline
     * 0.698), balanced accuracy 0.861, macro-F1 0.851; on every third (324): 0.836 / balanced 0.813, where great /
     * terrible score 0.691 / 0.761.
     */
    @Test
    void minedLabelWordsAreSentimentWordsAndClassifyUnseenWords() {
        List<TextRecord> shots = Sampling.kShot(Datasets.load("opinion-words", Split.TRAIN), 32, 42);
        Template t = Template.parse("{text}. It was {mask}.");
        long t0 = System.nanoTime();
        VerbalizerSearch.Result r = VerbalizerSearch.search(model, tok, t, shots, VerbalizerSearch.Options.defaults());
        long t1 = System.nanoTime();
        LOG.info("mined on 64 words in {} s:\n{}", (t1 - t0) / 1e9, r.toMarkdown());
        for (String label : r.labels()) {
            List<String> words = r.words(label);
            assertThat(words).hasSize(3);
            long agree = words.stream().filter(w -> label.equals(LEXICON.get(w))).count();
            assertThat(agree).as("%s words %s in the lexicon with that label", label, words).isGreaterThanOrEqualTo(2);
            for (String w : words) assertThat(LEXICON.getOrDefault(w, label)).as("%s is not a word of the other label", w).isEqualTo(label);
        }
        List<TextRecord> dev = every(Datasets.load("opinion-words", Split.DEV), 6);
        ClassificationReport mined = report(PromptClassifier.of(model, tok, t, r.verbalizer()), dev);
        double balanced = (mined.recall(0) + mined.recall(1)) / 2;
        long negatives = dev.stream().filter(x -> x.label().equals("negative")).count();
        double majority = (double) Math.max(negatives, dev.size() - negatives) / dev.size();
        LOG.info("dev ({} words): accuracy {}, balanced {}, macro-F1 {} (majority baseline {}); {} s in all", dev.size(), mined.accuracy(), balanced, mined.macroF1(),
                majority, (System.nanoTime() - t0) / 1e9);
        assertThat(mined.accuracy()).isGreaterThan(majority + 0.05);
        assertThat(balanced).isGreaterThan(0.75);
    }

    /**
     * Zero-shot template search with great / terrible, 8 words per label (seed 42), every twelfth dev word (81), three
     * built-in templates: the one that asks for the answer after the word wins; the two that put the mask first answer
     * "great" for most words and fall below the majority baseline. Measured: {@code {text} It was {mask}.} 0.790 (macro-F1
     * 0.762), {@code {mask}: {text}} 0.370, {@code Just {mask}! {text}} 0.333; the majority baseline is 0.691.
     */
    @Test
    void templateSearchPrefersTheAnswerAfterTheWord() {
        List<TextRecord> train = Sampling.kShot(Datasets.load("opinion-words", Split.TRAIN), 8, 42);
        List<TextRecord> dev = every(Datasets.load("opinion-words", Split.DEV), 12);
        List<TemplateCandidates.Candidate> cands = TemplateCandidates.builtin(false).stream()
                .filter(c -> List.of("{text} It was {mask}.", "Just {mask}! {text}", "{mask}: {text}").contains(c.template().text())).toList();
        assertThat(cands).hasSize(3);
        long t0 = System.nanoTime();
        TemplateSearch.Result r = TemplateSearch.builder(model, tok).verbalizer(Verbalizer.parse("negative=terrible;positive=great")).batchSize(64).build()
                .run(cands, train, dev);
        LOG.info("template search in {} s:\n{}", (System.nanoTime() - t0) / 1e9, r.toMarkdown());
        long negatives = dev.stream().filter(x -> x.label().equals("negative")).count();
        double majority = (double) Math.max(negatives, dev.size() - negatives) / dev.size();
        assertThat(r.best().candidate().template().text()).isEqualTo("{text} It was {mask}.");
        assertThat(r.best().devAccuracy()).isGreaterThan(majority);
        for (int i = 1; i < 3; i++) assertThat(r.ranking().get(i).devAccuracy()).isLessThan(majority);
    }
}
