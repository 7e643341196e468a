package io.peft4j.prompt.mining;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.TinyTokenizers;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.mining.VerbalizerSearch.Criterion;
import io.peft4j.prompt.mining.VerbalizerSearch.Options;
import io.peft4j.prompt.mining.VerbalizerSearch.TokenScore;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.peft4j.prompt.TinyTokenizers.bertId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class VerbalizerSearchTest {
    // ------------------------------------------------------------------ the pure scoring, by hand

    /**
     * Six tokens, two records per class (rows are probabilities, each summing to 1). Token 3 is planted for class A
     * (0.3 against 0.02), token 2 for class B (0.3 against 0.1); tokens 0 and 1 are common in both classes, 0 a
     * little likelier in A, 1 in B; tokens 4 and 5 are rare and likelier in B.
     */
    private static final double[][] P = {
            {0.40, 0.10, 0.10, 0.30, 0.05, 0.05},
            {0.30, 0.20, 0.10, 0.30, 0.05, 0.05},
            {0.38, 0.12, 0.30, 0.02, 0.08, 0.10},
            {0.28, 0.22, 0.30, 0.02, 0.08, 0.10}};
    private static final int[] CLASS_OF = {0, 0, 1, 1};
    private static final int[] ALL = {0, 1, 2, 3, 4, 5};

    private static double[][] logs(double[][] p) {
        double[][] out = new double[p.length][];
        for (int i = 0; i < p.length; i++) out[i] = java.util.Arrays.stream(p[i]).map(Math::log).toArray();
        return out;
    }

    private static double logit(double p) {
        return Math.log(p / (1 - p));
    }

    @Test
    void logProbScoresAreTheDifferencesOfTheMeansAndThePlantedTokensComeFirst() {
        List<List<TokenScore>> r = VerbalizerSearch.scoreTokens(logs(P), CLASS_OF, 2, ALL, Options.defaults().withCriterion(Criterion.LOG_PROB).withCandidatesPerClass(0));
        // A owns 3 (log 15) and 0; B owns 2 (log 3), 5 (log 2), 4 (log 1.6) and 1
        assertThat(r.get(0)).extracting(TokenScore::token).containsExactly(3, 0);
        assertThat(r.get(0).get(0).score()).isCloseTo(Math.log(0.3 / 0.02), within(1e-12));
        assertThat(r.get(0).get(0).meanLogProb()).isCloseTo(Math.log(0.3), within(1e-12));
        assertThat(r.get(0).get(0).meanLogProbOthers()).isCloseTo(Math.log(0.02), within(1e-12));
        assertThat(r.get(0).get(1).score()).isCloseTo((Math.log(0.4) + Math.log(0.3)) / 2 - (Math.log(0.38) + Math.log(0.28)) / 2, within(1e-12));
        assertThat(r.get(1)).extracting(TokenScore::token).containsExactly(2, 5, 4, 1);
        double[] expected = {Math.log(3), Math.log(2), Math.log(0.08 / 0.05), (Math.log(0.12) + Math.log(0.22)) / 2 - (Math.log(0.1) + Math.log(0.2)) / 2};
        for (int i = 0; i < 4; i++) assertThat(r.get(1).get(i).score()).isCloseTo(expected[i], within(1e-12));
        assertThat(r.get(1).get(0).meanLogProb()).isCloseTo(Math.log(0.3), within(1e-12));
        assertThat(r.get(1).get(0).meanLogProbOthers()).isCloseTo(Math.log(0.1), within(1e-12));
    }

    /** Exact ties (log-probabilities that add up exactly): a word both classes score alike goes to the earlier; equal scores rank by token id. */
    @Test
    void tiesAreBrokenByClassOrderAndTokenId() {
        double[][] lp = {{-1, -2, -2, -2}, {-1, -2, -2, -2}, {-1, -3, -1, -3}, {-1, -3, -1, -3}};
        List<List<TokenScore>> r = VerbalizerSearch.scoreTokens(lp, CLASS_OF, 2, new int[]{0, 1, 2, 3}, Options.defaults().withCriterion(Criterion.LOG_PROB).withCandidatesPerClass(0));
        assertThat(r.get(0)).extracting(TokenScore::token).containsExactly(1, 3, 0);
        assertThat(r.get(0)).extracting(TokenScore::score).containsExactly(1.0, 1.0, 0.0);
        assertThat(r.get(1)).extracting(TokenScore::token).containsExactly(2);
    }

    @Test
    void logOddsScoresArePetalsNormalisedLikelihoodRatioPerOtherRecord() {
        List<List<TokenScore>> r = VerbalizerSearch.scoreTokens(logs(P), CLASS_OF, 2, ALL, Options.defaults().withCandidatesPerClass(0));
        assertThat(r.get(0).get(0).token()).isEqualTo(3);
        assertThat(r.get(0).get(0).score()).isCloseTo(logit(0.3) - logit(0.02), within(1e-12));
        // PETAL (petal.py, log_likelihood_ratio with normalize): scale * (sum_pos log p - sum_pos log(1-p)) + sum_neg log(1-p) - sum_neg log p,
        // scale = n_neg / n_pos; ours is that divided by n_neg. Token 5 for class B, written out over the four records:
        double[] p5 = {0.05, 0.05, 0.10, 0.10};
        double pos = 0, neg = 0;
        for (int i = 2; i < 4; i++) pos += Math.log(p5[i]) - Math.log(1 - p5[i]);
        for (int i = 0; i < 2; i++) neg += Math.log(1 - p5[i]) - Math.log(p5[i]);
        double petal = (2.0 / 2.0) * pos + neg;
        TokenScore five = r.get(1).stream().filter(s -> s.token() == 5).findFirst().orElseThrow();
        assertThat(five.score()).isCloseTo(petal / 2, within(1e-12));
        assertThat(r.get(1)).extracting(TokenScore::token).containsExactly(2, 5, 4, 1);
    }

    @Test
    void poolsKeepEachClassesLikeliestTokensAndAWordGoesToOneClassOnly() {
        // pools of 2: A = {0 (mean log of 0.4 and 0.3), 3 (log 0.3)}, B = {0 (mean log of 0.38 and 0.28), 2 (log 0.3)}; 0 fits A better
        List<List<TokenScore>> r = VerbalizerSearch.scoreTokens(logs(P), CLASS_OF, 2, ALL, Options.defaults().withWordsPerClass(1).withCandidatesPerClass(2));
        assertThat(r.get(0)).extracting(TokenScore::token).containsExactly(3, 0);
        assertThat(r.get(1)).extracting(TokenScore::token).containsExactly(2);
        // pools of 1: both pools are token 0 only, which class A takes
        r = VerbalizerSearch.scoreTokens(logs(P), CLASS_OF, 2, ALL, Options.defaults().withWordsPerClass(1).withCandidatesPerClass(1));
        assertThat(r.get(0)).extracting(TokenScore::token).containsExactly(0);
        assertThat(r.get(1)).isEmpty();
        // only the given tokens are candidates
        r = VerbalizerSearch.scoreTokens(logs(P), CLASS_OF, 2, new int[]{1, 4, 5}, Options.defaults().withCandidatesPerClass(0));
        assertThat(r.get(0)).isEmpty();
        assertThat(r.get(1)).extracting(TokenScore::token).containsExactly(5, 4, 1);
    }

    @Test
    void theResultIsAVerbalizerOfTheBestWordsAndReportsThem() {
        Map<Integer, String> words = Map.of(0, "the", 1, "a", 2, "great", 3, "awful", 4, "meh", 5, "nice");
        List<String> labels = List.of("neg", "neg", "pos", "pos");                 // rows 0, 1 (class A) are neg
        VerbalizerSearch.Result r = VerbalizerSearch.fromLogProbs(logs(P), labels, words, "{text} It was {mask}.", Options.defaults().withWordsPerClass(2).withListed(3));
        assertThat(r.labels()).containsExactly("neg", "pos");                      // sorted
        assertThat(r.spec()).isEqualTo("neg=awful,the;pos=great,nice");
        assertThat(r.verbalizer().labels()).containsExactly("neg", "pos");
        assertThat(r.verbalizer().prefix()).isEqualTo(" ");
        assertThat(Verbalizer.parse(r.spec()).spec()).isEqualTo(r.spec());
        assertThat(r.ranking("pos")).extracting(VerbalizerSearch.Result.Word::word).containsExactly("great", "nice", "meh");
        assertThat(r.ranking("pos")).extracting(VerbalizerSearch.Result.Word::chosen).containsExactly(true, true, false);
        assertThat(r.ranking("neg")).extracting(VerbalizerSearch.Result.Word::word).containsExactly("awful", "the");   // all it owns
        assertThat(r.recordsPerLabel()).containsExactly(2, 2);
        // class score = mean log p of the chosen words; e.g. row 2 (pos): neg (log .02 + log .38) / 2 < pos (log .3 + log .1) / 2
        assertThat(r.searchAccuracy()).isEqualTo(1.0);
        String md = r.toMarkdown();
        assertThat(md).contains("| pos | 1 | great | 2 | " + Tables.num(logit(0.3) - logit(0.1)) + " | " + Tables.num(Math.log(0.3)) + " | " + Tables.num(Math.log(0.1)) + " | yes |");
        assertThat(md).contains("| pos | 3 | meh | 4 |").contains("Verbalizer: `neg=awful,the;pos=great,nice`");
        JsonNode j = r.toJson();
        assertThat(j.get("verbalizer_spec").asText()).isEqualTo("neg=awful,the;pos=great,nice");
        assertThat(j.at("/verbalizer/pos/0").asText()).isEqualTo("great");
        assertThat(j.at("/ranking/pos/0/token").asInt()).isEqualTo(2);
        assertThat(j.at("/ranking/pos/0/score").asDouble()).isCloseTo(logit(0.3) - logit(0.1), within(1e-12));
        assertThat(j.at("/records_per_label/neg").asInt()).isEqualTo(2);
        assertThat(j.get("criterion").asText()).isEqualTo("log_odds");
    }

    @Test
    void theSearchAccuracyCountsTheChosenWordsMeanLogProbability() {
        // row 1 made to prefer "bad": pos=great scores log 0.1, neg=bad log 0.3
        double[][] p = {P[0], {0.30, 0.20, 0.30, 0.10, 0.05, 0.05}, P[2], P[3]};
        VerbalizerSearch.Result r = VerbalizerSearch.fromLogProbs(logs(p), List.of("pos", "pos", "neg", "neg"), Map.of(2, "bad", 3, "great"), "t",
                Options.defaults().withWordsPerClass(1).withCandidatesPerClass(0));
        assertThat(r.spec()).isEqualTo("neg=bad;pos=great");
        assertThat(r.searchAccuracy()).isEqualTo(0.75);
    }

    // ------------------------------------------------------------------ which tokens are words

    @Test
    void wordPieceCandidatesAreWholeWordsThatTokenizeBackToThemselves() {
        Tokenizer tok = TinyTokenizers.bert();
        Map<Integer, String> w = VerbalizerSearch.wordTokens(tok, 101, Options.defaults());
        assertThat(w).containsEntry(bertId("great"), "great").containsEntry(bertId("terrible"), "terrible").containsEntry(bertId("the"), "the");
        for (String t : List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##s", "##b", ".", ",", "/", "a", "n", "x36")) {
            assertThat(w).as(t).doesNotContainKey(bertId(t));
        }
        assertThat(w).hasSize(24);
        // punctuation and one-letter words with minLetters 0; still no specials or continuations
        Map<Integer, String> all = VerbalizerSearch.wordTokens(tok, 101, Options.defaults().withMinLetters(0));
        assertThat(all).containsEntry(bertId("."), ".").containsEntry(bertId("a"), "a").containsEntry(bertId("x36"), "x36");
        for (String t : List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##s", "##b")) assertThat(all).as(t).doesNotContainKey(bertId(t));
        // ids at or above the model's vocabulary are not candidates
        assertThat(VerbalizerSearch.wordTokens(tok, 10, Options.defaults()).keySet()).containsExactly(5, 6, 7, 8, 9);
    }

    @Test
    void byteLevelBpeCandidatesAreTheTokensThatFollowASpace() {
        Tokenizer tok = Tokenizers.load(Fixtures.resource("tokenizers/gpt2"));
        Map<Integer, String> w = VerbalizerSearch.wordTokens(tok, tok.vocabSize(), Options.defaults());
        int spaced = tok.tokenToId("\u0120great"), bare = tok.tokenToId("great");
        assertThat(spaced).isPositive();
        assertThat(bare).isPositive();
        assertThat(w).containsEntry(spaced, "great").doesNotContainKey(bare).doesNotContainKey(tok.tokenToId("<|endoftext|>"))
                .doesNotContainKey(tok.tokenToId("\u0120")).doesNotContainKey(tok.tokenToId("."));
        for (var e : w.entrySet()) assertThat(tok.encodeText(" " + e.getValue())).containsExactly(e.getKey());
        // without a prefix it is the other way round
        Map<Integer, String> bareWords = VerbalizerSearch.wordTokens(tok, tok.vocabSize(), Options.defaults().withPrefix(""));
        assertThat(bareWords).containsEntry(bare, "great").doesNotContainKey(spaced);
    }

    // ------------------------------------------------------------------ end to end: a planted word

    /**
     * The tiny BERT trained to answer great / terrible at the mask recovers exactly those words, from the whole
     * vocabulary, by both criteria; the untrained model does not; and the mined verbalizer classifies the dev
     * records (not searched on) as the planted one does.
     */
    @Test
    void aPlantedLabelWordIsRecovered() {
        List<TextRecord> train = MiningFixtures.records(true), dev = MiningFixtures.records(false);
        Options one = Options.defaults().withWordsPerClass(1);
        VerbalizerSearch.Result before = VerbalizerSearch.search(MiningFixtures.tinyBert(), MiningFixtures.TOK, MiningFixtures.PLANTED, train, one);
        assertThat(before.words("pos")).doesNotContain("great");

        PeftModel m = MiningFixtures.planted();
        for (Criterion c : Criterion.values()) {
            for (int pool : new int[]{0, 5, 100}) {
                VerbalizerSearch.Result r = VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, train, one.withCriterion(c).withCandidatesPerClass(pool));
                assertThat(r.spec()).as("%s, pool %d", c, pool).isEqualTo("neg=terrible;pos=great");
                assertThat(r.searchAccuracy()).isEqualTo(1.0);
            }
        }
        VerbalizerSearch.Result r = VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, train, Options.defaults());
        assertThat(r.words("neg")).hasSize(3).startsWith("terrible");
        assertThat(r.words("pos")).hasSize(3).startsWith("great");
        // measured: the planted words score about 8 (log-odds), the next words about 7 and 4.8
        assertThat(r.ranking("neg").get(0).score()).isGreaterThan(5);
        assertThat(r.ranking("pos").get(0).score()).isGreaterThan(5);

        // usable as it is: classifies the dev records with the planted words' accuracy
        List<Map<String, String>> devFields = dev.stream().map(TextRecord::fields).toList();
        PromptClassifier mined = PromptClassifier.of(m, MiningFixtures.TOK, MiningFixtures.PLANTED, VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, train, one).verbalizer());
        PromptClassifier planted = PromptClassifier.of(m, MiningFixtures.TOK, MiningFixtures.PLANTED, MiningFixtures.PLANTED_WORDS);
        assertThat(mined.predict(devFields, 16)).containsExactly(planted.predict(devFields, 16));
        int right = 0;
        int[] p = mined.predict(devFields, 16);
        for (int i = 0; i < p.length; i++) if (mined.labels().get(p[i]).equals(dev.get(i).label())) right++;
        assertThat(right).isEqualTo(dev.size());
    }

    /** The search reads the same rows as the classifier's vocabulary log-probabilities: the scores are that matrix's. */
    @Test
    void theSearchScoresTheClassifiersVocabularyRows() {
        PeftModel m = MiningFixtures.tinyBert();
        List<TextRecord> train = MiningFixtures.records(true);
        PromptClassifier vocab = PromptClassifier.builder(m, MiningFixtures.TOK, MiningFixtures.PLANTED).vocabularyOnly().build();
        Options o = Options.defaults().withCandidatesPerClass(0).withListed(30);
        VerbalizerSearch.Result r = VerbalizerSearch.search(vocab, train, o);
        double[][] lp = vocab.vocabularyLogProbs(train.stream().map(TextRecord::fields).toList(), o.batchSize()).toDoubleMatrix();   // the same batches
        VerbalizerSearch.Result again = VerbalizerSearch.fromLogProbs(lp, train.stream().map(TextRecord::label).toList(),
                VerbalizerSearch.wordTokens(MiningFixtures.TOK, 101, o), r.template(), o);
        assertThat(again.toJson()).isEqualTo(r.toJson());
        // a word's mean log-probability is over the records of the label that owns it
        int great = bertId("great");
        String owner = r.ranking("pos").stream().anyMatch(w -> w.token() == great) ? "pos" : "neg";
        var word = r.ranking(owner).stream().filter(w -> w.token() == great).findFirst().orElseThrow();
        double in = 0, out = 0;
        int n = 0;
        for (int i = 0; i < train.size(); i++) {
            if (train.get(i).label().equals(owner)) {
                in += lp[i][great];
                n++;
            } else {
                out += lp[i][great];
            }
        }
        assertThat(word.meanLogProb()).isCloseTo(in / n, within(1e-12));
        assertThat(word.meanLogProbOthers()).isCloseTo(out / (train.size() - n), within(1e-12));
        // a vocabulary-only classifier scores no classes
        assertThatThrownBy(() -> vocab.classScores(List.of(Map.of("text", "a film")), 1)).isInstanceOf(PeftException.class)
                .hasMessageContaining("has no verbalizer and no head");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void faultsAreOneClearError() {
        PeftModel m = MiningFixtures.tinyBert();
        List<TextRecord> train = MiningFixtures.records(true);
        // more words per class than a class can have: the label is named
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, train, Options.defaults().withWordsPerClass(20)))
                .isInstanceOf(PeftException.class).hasMessageContaining("is left with").hasMessageContaining("fewer than the 20 words per class");
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, train, Options.defaults().withWordsPerClass(20).withCandidatesPerClass(0)))
                .isInstanceOf(PeftException.class).hasMessageMatching("verbalizer search: label '(neg|pos)' is left with \\d+ candidate words, .*lower the words per class");
        // a k-shot sample larger than a class has: the sampler names the label and the counts
        assertThatThrownBy(() -> Sampling.kShot(train, 13, 1)).isInstanceOf(PeftException.class)
                .hasMessage("synthetic-train: 13-shot sample: label 'neg' has only 12 records (per label: neg 12, pos 12)");
        // one label only
        List<TextRecord> pos = train.stream().filter(r -> r.label().equals("pos")).toList();
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, pos, Options.defaults()))
                .isInstanceOf(PeftException.class).hasMessage("synthetic-train: verbalizer search needs records of at least two labels, these have only [pos]");
        // an unlabelled record, a record without the template's field
        List<TextRecord> unlabelled = new ArrayList<>(train);
        unlabelled.add(new TextRecord(Map.of("text", "a film"), null, "new.jsonl", 7));
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, unlabelled, Options.defaults()))
                .isInstanceOf(PeftException.class).hasMessage("new.jsonl: line 7: no label (verbalizer search needs labelled records)");
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, Template.parse("{field:body} {mask}"), train, Options.defaults()))
                .isInstanceOf(PeftException.class).hasMessageContaining("no field 'body'");
        assertThatThrownBy(() -> VerbalizerSearch.search(m, MiningFixtures.TOK, MiningFixtures.PLANTED, List.of(), Options.defaults()))
                .isInstanceOf(PeftException.class).hasMessage("verbalizer search: no records");
        // options
        assertThatThrownBy(() -> Options.defaults().withWordsPerClass(0)).isInstanceOf(PeftException.class).hasMessage("words per class must be at least 1, not 0");
        assertThatThrownBy(() -> Options.defaults().withCandidatesPerClass(2)).isInstanceOf(PeftException.class)
                .hasMessage("candidates per class (2) must be at least the words per class (3)");
        assertThatThrownBy(() -> Options.defaults().withCandidatesPerClass(-1)).isInstanceOf(PeftException.class);
        assertThatThrownBy(() -> Options.defaults().withMinLetters(-1)).isInstanceOf(PeftException.class);
        assertThat(Options.defaults().withCandidatesPerClass(3).withWordsPerClass(5).candidatesPerClass()).isEqualTo(5);
    }
}
