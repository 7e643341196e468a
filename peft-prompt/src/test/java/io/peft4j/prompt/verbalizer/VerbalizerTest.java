package io.peft4j.prompt.verbalizer;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.TinyTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.peft4j.prompt.TinyTokenizers.bertId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The verbalizer's syntax, file form and faults, and its class scores recomputed by hand (plain double math)
 * from the raw masked-LM logits that the independent reference computed for bert-tiny.
 */
class VerbalizerTest {
    private static final Tokenizer TOK = TinyTokenizers.bert();
    /** positive: great, superb (2 tokens: super ##b); negative: terrible, bad, awful. */
    private static final Verbalizer SENTIMENT = Verbalizer.parse("positive=great,superb;negative=terrible,bad,awful");

    @Test
    void parsesTheCommandLineSyntax() {
        Verbalizer v = Verbalizer.parse(" spam = spam, junk ; ham=normal;");
        assertThat(v.labels()).containsExactly("spam", "ham");
        assertThat(v.words("spam")).containsExactly("spam", "junk");
        assertThat(v.words("ham")).containsExactly("normal");
        assertThat(v.spec()).isEqualTo("spam=spam,junk;ham=normal");
        assertThat(v.multiToken()).isEqualTo(MultiToken.FIRST);
        assertThat(v.normalization()).isEqualTo(Normalization.VOCABULARY);
        assertThat(v.prefix()).isEqualTo(" ");
    }

    @Test
    void malformedSpecsFailWithOneMessage() {
        assertThatThrownBy(() -> Verbalizer.parse("spam;ham=normal")).isInstanceOf(PeftException.class)
                .hasMessage("verbalizer 'spam;ham=normal': 'spam' is not label=word,word");
        assertThatThrownBy(() -> Verbalizer.parse("=x;ham=normal")).hasMessage("verbalizer '=x;ham=normal': '=x' has no label before '='");
        assertThatThrownBy(() -> Verbalizer.parse("spam=;ham=normal")).hasMessage("verbalizer 'spam=;ham=normal': label 'spam' has an empty word");
        assertThatThrownBy(() -> Verbalizer.parse("spam=a,,b;ham=c")).hasMessage("verbalizer 'spam=a,,b;ham=c': label 'spam' has an empty word");
        assertThatThrownBy(() -> Verbalizer.parse("spam=a;spam=b")).hasMessage("verbalizer 'spam=a;spam=b': label 'spam' appears twice");
        assertThatThrownBy(() -> Verbalizer.parse("spam=a,a;ham=b")).hasMessage("verbalizer 'spam=a,a;ham=b': label 'spam' lists the word 'a' twice");
        assertThatThrownBy(() -> Verbalizer.parse("spam=junk")).hasMessage("verbalizer 'spam=junk': has one label ([spam]): classification needs at least two");
        assertThatThrownBy(() -> Verbalizer.parse(" ")).hasMessage("verbalizer is empty: write label=word,word;label=word");
    }

    @Test
    void wordsTheTokenizerDoesNotKnowOrCannotTellApartFail() {
        assertThatThrownBy(() -> Verbalizer.parse("positive=great,zebra;negative=bad").bind(TOK)).isInstanceOf(PeftException.class)
                .hasMessage("label word 'zebra' of label 'positive' is not in the vocabulary (the tokenizer gives [UNK])");
        assertThatThrownBy(() -> SENTIMENT.withMultiToken(MultiToken.SINGLE).bind(TOK)).isInstanceOf(PeftException.class)
                .hasMessage("label word 'superb' of label 'positive' is 2 tokens [super, ##b], but single tokens are required (multi_token single);"
                        + " choose a one-token word or multi_token first, mean or max");
        assertThatThrownBy(() -> Verbalizer.parse("positive=Great;negative=great").bind(TOK))
                .hasMessage("label word 'great' of label 'negative' has the same tokens as a word of label 'positive': the labels cannot be told apart by it");
        int[][][] ids = SENTIMENT.bind(TOK).ids();
        assertThat(ids[0][1]).containsExactly(bertId("super"), bertId("##b"));
        assertThat(ids[1][2]).containsExactly(bertId("awful"));
    }

    @Test
    void dataLabelsMustMatchTheVerbalizersBothWays() {
        Verbalizer v = Verbalizer.parse("spam=junk;ham=normal");
        v.checkLabels(List.of("ham", "spam", "ham"), "train.jsonl");
        assertThatThrownBy(() -> v.checkLabels(List.of("ham", "spam", "phishing"), "train.jsonl")).isInstanceOf(PeftException.class)
                .hasMessage("train.jsonl: label 'phishing' has no words in the verbalizer (its labels: [spam, ham])");
        assertThatThrownBy(() -> v.checkLabels(List.of("ham"), "dev.jsonl"))
                .hasMessage("dev.jsonl: the verbalizer's label 'spam' never occurs in the data (its labels: [ham])");
    }

    @Test
    void jsonFormRoundTripsAndItsFaultsNameTheFileAndField(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve(Verbalizer.FILE);
        Verbalizer v = SENTIMENT.withMultiToken(MultiToken.MAX).withNormalization(Normalization.LABEL_WORDS).withPrefix("");
        v.write(f);
        assertThat(Files.readString(f).replaceAll("\\s+", "")).isEqualTo("{\"labels\":{\"positive\":[\"great\",\"superb\"],\"negative\":[\"terrible\",\"bad\",\"awful\"]},"
                + "\"multi_token\":\"max\",\"normalization\":\"label_words\",\"prefix\":\"\"}");
        Verbalizer back = Verbalizer.read(f);
        assertThat(back.labels()).containsExactly("positive", "negative");
        assertThat(back.words("negative")).containsExactly("terrible", "bad", "awful");
        assertThat(back.multiToken()).isEqualTo(MultiToken.MAX);
        assertThat(back.normalization()).isEqualTo(Normalization.LABEL_WORDS);
        assertThat(back.prefix()).isEmpty();

        Files.writeString(f, "{\"labels\": {\"spam\": \"junk\", \"ham\": [\"normal\", 3]}}");
        assertThatThrownBy(() -> Verbalizer.read(f)).isInstanceOf(PeftException.class).hasMessage(f + ": field 'labels.ham' must list words (strings), not 3");
        Files.writeString(f, "{\"labels\": {\"spam\": \"junk\", \"ham\": []}}");
        assertThatThrownBy(() -> Verbalizer.read(f)).hasMessage(f + ": field 'labels': verbalizer label 'ham' has no words");
        Files.writeString(f, "{\"labels\": {\"spam\": \"junk\", \"ham\": \"normal\"}, \"multi_token\": \"last\"}");
        assertThatThrownBy(() -> Verbalizer.read(f)).hasMessage(f + ": field 'multi_token' is \"last\", not one of [single, first, mean, max]");
        Files.writeString(f, "{\"words\": {}}");
        assertThatThrownBy(() -> Verbalizer.read(f)).hasMessage(f + ": field 'labels' is missing");
        assertThat(Verbalizer.fromJson(json("{\"labels\": {\"spam\": \"junk\", \"ham\": \"normal\"}}"), "x").words("spam")).containsExactly("junk");
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String s) throws Exception {
        return io.peft4j.core.io.Json.MAPPER.readTree(s);
    }

    // ------------------------------------------------------------------ class scores against hand computation

    private static double[][] fixtureLogits() {
        return Fixtures.matrix(Fixtures.expected("bert-tiny").get("mlm_logits"));   // [8, 101], the reference's raw logits
    }

    private static double lse(double[] z) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double x : z) m = Math.max(m, x);
        for (double x : z) s += Math.exp(x - m);
        return m + Math.log(s);
    }

    /** A word's value from per-token values v (log-probabilities or logits) of its tokens. */
    private static double word(double[] v, MultiToken h, String... tokens) {
        double[] t = java.util.Arrays.stream(tokens).mapToDouble(tok -> v[bertId(tok)]).toArray();
        return switch (h) {
            case SINGLE, FIRST -> t[0];
            case MEAN -> java.util.Arrays.stream(t).average().orElseThrow();
            case MAX -> java.util.Arrays.stream(t).max().orElseThrow();
        };
    }

    /** The class scores of {@link #SENTIMENT} for one row of raw logits z, written out by hand. */
    private static double[] byHand(double[] z, MultiToken h, Normalization n) {
        double[] v = z.clone();
        if (n == Normalization.VOCABULARY) {
            double l = lse(z);
            for (int i = 0; i < v.length; i++) v[i] = z[i] - l;
        }
        double[] w = {word(v, h, "great"), word(v, h, "super", "##b"), word(v, h, "terrible"), word(v, h, "bad"), word(v, h, "awful")};
        if (n == Normalization.LABEL_WORDS) {
            double l = lse(w);
            for (int i = 0; i < w.length; i++) w[i] -= l;
        }
        return new double[]{(w[0] + w[1]) / 2, (w[2] + w[3] + w[4]) / 3};
    }

    @ParameterizedTest
    @EnumSource(value = MultiToken.class, names = {"FIRST", "MEAN", "MAX"})
    void classScoresEqualTheHandComputationFromRawLogits(MultiToken h) {
        double[][] z = fixtureLogits();
        for (Normalization n : Normalization.values()) {
            LabelWords words = SENTIMENT.withMultiToken(h).withNormalization(n).bind(TOK);
            double[][] ours = words.scores(Tensor.constant(Nd4j.create(z))).value().toDoubleMatrix();
            for (int r = 0; r < z.length; r++) {
                double[] expect = byHand(z[r], h, n);
                assertThat(ours[r][0]).as("%s %s row %d positive", h, n, r).isCloseTo(expect[0], within(1e-12));
                assertThat(ours[r][1]).as("%s %s row %d negative", h, n, r).isCloseTo(expect[1], within(1e-12));
            }
        }
    }

    /** The three normalisations differ by a constant per row: the same class probabilities. */
    @Test
    void normalisationsGiveTheSameClassProbabilities() {
        double[][] z = fixtureLogits();
        double[][] vocab = Calibration.none().apply(SENTIMENT.bind(TOK).scores(Tensor.constant(Nd4j.create(z))).value().toDoubleMatrix());
        for (Normalization n : List.of(Normalization.LABEL_WORDS, Normalization.NONE)) {
            double[][] other = Calibration.none().apply(SENTIMENT.withNormalization(n).bind(TOK).scores(Tensor.constant(Nd4j.create(z))).value().toDoubleMatrix());
            for (int r = 0; r < z.length; r++) for (int c = 0; c < 2; c++) assertThat(other[r][c]).isCloseTo(vocab[r][c], within(1e-12));
        }
        // and they are not the same scores
        double raw = SENTIMENT.withNormalization(Normalization.NONE).bind(TOK).scores(Tensor.constant(Nd4j.create(z))).value().getDouble(0, 0);
        assertThat(raw).isNotCloseTo(byHand(z[0], MultiToken.FIRST, Normalization.VOCABULARY)[0], within(1e-3));
    }

    @Test
    void classScoresAreDifferentiableInTheLogits() {
        io.peft4j.core.tensor.GradCheck.check(() -> io.peft4j.core.tensor.GradCheck.project(
                SENTIMENT.withMultiToken(MultiToken.MEAN).withNormalization(Normalization.LABEL_WORDS).bind(TOK).scores(LOGITS), 3), List.of(LOGITS), 400, 1e-6);
        io.peft4j.core.tensor.GradCheck.check(() -> io.peft4j.core.tensor.GradCheck.project(
                SENTIMENT.withMultiToken(MultiToken.MAX).bind(TOK).scores(LOGITS), 4), List.of(LOGITS), 400, 1e-6);
    }

    private static final Tensor LOGITS = Tensor.parameter(Nd4j.create(fixtureLogits()).getRows(0, 1, 2));
}
