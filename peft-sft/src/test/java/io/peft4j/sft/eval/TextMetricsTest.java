package io.peft4j.sft.eval;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TextMetricsTest {
    private static void assertRouge(TextMetrics.Rouge r, double p, double rec, double f, double tol) {
        assertThat(r.p()).as("precision").isCloseTo(p, within(tol));
        assertThat(r.r()).as("recall").isCloseTo(rec, within(tol));
        assertThat(r.f()).as("F").isCloseTo(f, within(tol));
    }

    /** The cases of rouge-score's own tests ({@code rouge_scorer_test.py}): score(target, prediction). */
    @Test
    void rougeLMatchesRougeScoresOwnTests() {
        assertRouge(TextMetrics.rougeL("testing one two", "testing one"), 1, 2 / 3.0, 4 / 5.0, 1e-12);
        assertRouge(TextMetrics.rougeL("testing one two", "testing two"), 1, 2 / 3.0, 4 / 5.0, 1e-12);
        assertRouge(TextMetrics.rougeL("testing one two", ""), 0, 0, 0, 0);
        assertRouge(TextMetrics.rougeL("w1 w2 w3 w4 w5", "/"), 0, 0, 0, 0);     // all non-word characters: no tokens
    }

    /** Against ROUGE-1.5.5 (the Perl original) on rouge-score's test data, values from its testRougeLAgainstRouge155. */
    @Test
    void rougeLMatchesRouge155OnRougeScoresTestData() throws Exception {
        List<String> targets = Files.readAllLines(Path.of("src/test/resources/rouge/target.txt"));
        List<String> predictions = Files.readAllLines(Path.of("src/test/resources/rouge/prediction.txt"));
        assertRouge(TextMetrics.rougeL(targets.get(0), predictions.get(0)), 0.68750, 0.40741, 0.51163, 5e-6);
        assertRouge(TextMetrics.rougeL(targets.get(1), predictions.get(1)), 0.65385, 0.40476, 0.50000, 5e-6);
    }

    /** Cases worked by hand. */
    @Test
    void rougeLByHand() {
        // [the cat sat on the mat] vs [the cat is on the mat]: LCS the cat on the mat = 5 of 6 each
        assertRouge(TextMetrics.rougeL("The cat sat on the mat.", "the cat is on the mat"), 5 / 6.0, 5 / 6.0, 5 / 6.0, 1e-12);
        // case and punctuation vanish in the tokenizer
        assertRouge(TextMetrics.rougeL("Hello, World!", "hello world"), 1, 1, 1, 0);
        // reference [a b c d] (4), prediction [b d a] (3): LCS b d = 2: P 2/3, R 1/2, F 2·(1/3)/(7/6) = 4/7
        assertRouge(TextMetrics.rougeL("a b c d", "b d a"), 2 / 3.0, 0.5, 4 / 7.0, 1e-12);
        // characters outside a-z0-9 split words, as in rouge-score: café -> caf, x-ray -> x ray
        assertThat(TextMetrics.rougeTokens("Café x-ray 42nd")).containsExactly("caf", "x", "ray", "42nd");
    }

    @Test
    void exactNormalisedAndLabelMatches() {
        assertThat(TextMetrics.exactMatch("  cba\n", "cba")).isTrue();
        assertThat(TextMetrics.exactMatch("Cba", "cba")).isFalse();
        // SQuAD's normalize_answer: lower, punctuation out, articles out, whitespace collapsed
        assertThat(TextMetrics.normalize("The  Cat's hat!")).isEqualTo("cats hat");
        assertThat(TextMetrics.normalize("An apple, a day")).isEqualTo("apple day");
        assertThat(TextMetrics.normalize("theatre")).isEqualTo("theatre");
        assertThat(TextMetrics.normalizedMatch("The answer.", "answer")).isTrue();
        assertThat(TextMetrics.labelMatch("Spam!", "spam")).isTrue();
        assertThat(TextMetrics.labelMatch("Positive. The review praises it.", "positive")).isTrue();
        assertThat(TextMetrics.labelMatch("negative, not positive", "positive")).isFalse();
        assertThat(TextMetrics.labelMatch("new york city", "new york")).isFalse();        // multi-word references need the whole answer
        assertThat(TextMetrics.labelMatch("", "")).isTrue();
    }
}
