package io.peft4j.demo;

import io.peft4j.probe.LinearProbe;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The bag-of-words baseline against hand-computed references: TF-IDF values, and the logistic regression's optimum. */
class BagOfWordsTest {
    @Test
    void tfIdfValuesAsComputedByHand() {
        // "a" has one character and is not a word; "Apple" is lower-cased
        List<String> docs = List.of("Apple banana apple", "banana, cherry!", "cherry cherry a cherry");
        TfIdf v = TfIdf.fit(docs, 10);
        assertThat(v.vocabulary()).containsExactly("apple", "banana", "cherry");
        // smooth idf = ln((1 + n) / (1 + df)) + 1 with n = 3: apple df 1, banana df 2, cherry df 2
        double idfApple = Math.log(4.0 / 2) + 1, idfBanana = Math.log(4.0 / 3) + 1, idfCherry = idfBanana;
        assertThat(v.idf(0)).isCloseTo(idfApple, within(1e-12));
        assertThat(v.idf(1)).isCloseTo(idfBanana, within(1e-12));
        assertThat(v.idf(2)).isCloseTo(idfCherry, within(1e-12));
        float[] x = v.transform(docs);
        // doc 1: apple twice (sublinear tf 1 + ln 2), banana once (tf 1); then the L2 norm
        double a = (1 + Math.log(2)) * idfApple, b = idfBanana, norm = Math.sqrt(a * a + b * b);
        assertThat(x[0]).isCloseTo((float) (a / norm), within(1e-6f));
        assertThat(x[1]).isCloseTo((float) (b / norm), within(1e-6f));
        assertThat(x[2]).isEqualTo(0f);
        assertThat(a / norm).isCloseTo(0.912202, within(1e-6));     // the same numbers worked out by hand
        assertThat(b / norm).isCloseTo(0.409742, within(1e-6));
        // doc 2: banana and cherry once each, equal idf: 1/sqrt(2) each; doc 3: cherry alone: 1
        assertThat(x[3]).isEqualTo(0f);
        assertThat(x[4]).isCloseTo((float) Math.sqrt(0.5), within(1e-6f));
        assertThat(x[5]).isCloseTo((float) Math.sqrt(0.5), within(1e-6f));
        assertThat(new float[]{x[6], x[7], x[8]}).containsExactly(0f, 0f, 1f);
        // unknown words count for nothing; a document without known words stays zero
        float[] y = v.transform(List.of("durian apple", "durian"));
        assertThat(new float[]{y[0], y[1], y[2], y[3], y[4], y[5]}).containsExactly(1f, 0f, 0f, 0f, 0f, 0f);
    }

    @Test
    void theVocabularyKeepsTheMostFrequentWordsTiesByWord() {
        // totals: cherry 4, apple 2, banana 2 (a tie: apple first), date 1
        TfIdf v = TfIdf.fit(List.of("apple banana apple date", "banana cherry", "cherry cherry cherry"), 2);
        assertThat(v.vocabulary()).containsExactly("apple", "cherry");
        assertThat(TfIdf.words("Don't STOP-me now, 42x ü ünïcode")).containsExactly("don", "stop", "me", "now", "42x", "ünïcode");
    }

    @Test
    void logisticRegressionReachesTheOptimumOfASeparableToyProblem() {
        // x = -2, -1 (class 0) and 1, 2 (class 1); lambda = 1/n = 1/4 on both classes' weights
        float[] x = {-2, -1, 1, 2};
        int[] y = {0, 0, 1, 1};
        LinearProbe lr = DemoMethods.BagOfWords.fit(x, 4, 1, y, 2);
        // by symmetry w1 = -w0 = w/2 and equal biases; the binomial form p(1|x) = sigma(w x) minimises
        // (1/n) sum log(1 + exp(-m_i w)) + (lambda/4) w^2 with margins m = 2, 1, 1, 2: solve its derivative by bisection
        double lo = 0, hi = 10;
        for (int i = 0; i < 200; i++) {
            double w = (lo + hi) / 2;
            double g = -(2 * sigmoid(-2 * w) * 2 + 2 * sigmoid(-w) * 1) / 4 + 0.25 * w / 2;
            if (g > 0) hi = w;
            else lo = w;
        }
        double w = (lo + hi) / 2;
        assertThat(w).isBetween(1.0, 5.0);
        assertThat(lr.weights(1)[0] - lr.weights(0)[0]).isCloseTo(w, within(1e-4));
        assertThat(lr.weights(1)[0]).isCloseTo(w / 2, within(1e-4));
        assertThat(lr.bias(1) - lr.bias(0)).isCloseTo(0, within(1e-4));
        assertThat(lr.predict(new float[]{-0.5f, 0.5f, -3f, 3f}, 4)).containsExactly(0, 1, 0, 1);
        assertThat(lr.probabilities(new float[]{1f}, 1)[0][1]).isCloseTo(sigmoid(w), within(1e-4));
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }
}
