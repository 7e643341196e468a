package io.peft4j.prompt.verbalizer;

import io.peft4j.core.Fixtures;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.TinyTokenizers;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static io.peft4j.prompt.TinyTokenizers.bertId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Calibration against the published procedures written out in plain double math on bert-tiny's reference
 * logits: Zhao et al.'s contextual calibration in probability space ({@code W = diag(p_cf)^-1}), and OpenPrompt's
 * {@code ManualVerbalizer} with calibrate logits (the mean of the raw logits, label-word softmax, division,
 * renormalisation, log, mean over words).
 */
class CalibrationTest {
    private static final Tokenizer TOK = TinyTokenizers.bert();
    private static final double[][] Z = Fixtures.matrix(Fixtures.expected("bert-tiny").get("mlm_logits"));   // [8, 101]

    private static double[] softmax(double[] z) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double x : z) m = Math.max(m, x);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] - m);
        for (int i = 0; i < z.length; i++) p[i] /= s;
        return p;
    }

    private static double[] normalise(double[] p) {
        double s = 0;
        for (double x : p) s += x;
        double[] q = new double[p.length];
        for (int i = 0; i < p.length; i++) q[i] = p[i] / s;
        return q;
    }

    /** Zhao et al.'s run_classification.py: p(label) from the vocabulary softmax, p_cf the normalised mean over the content-free inputs, argmax/normalise of diag(p_cf)^-1 p. */
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void contentFreeCalibrationIsZhaoEtAlsDiagonalW(int contentFreeInputs) {
        int[] words = {bertId("great"), bertId("terrible"), bertId("fine")};
        Verbalizer v = Verbalizer.parse("positive=great;negative=terrible;neutral=fine");
        LabelWords lw = v.bind(TOK);
        double[][] cfScores = new double[contentFreeInputs][];
        double[] pcf = new double[3];
        for (int i = 0; i < contentFreeInputs; i++) {
            int row = 5 + i;       // rows 5.. play the content-free inputs
            cfScores[i] = lw.scores(Tensor.constant(Nd4j.create(new double[][]{Z[row]}))).value().toDoubleVector();
            double[] p = softmax(Z[row]);
            for (int c = 0; c < 3; c++) pcf[c] += p[words[c]];          // unnormalised p_y, summed over inputs
        }
        pcf = normalise(pcf);                                            // np.mean then p_y / sum
        Calibration cal = Calibration.contentFree(cfScores);
        for (int row = 0; row < 5; row++) {
            double[] p = softmax(Z[row]);
            double[] labelProbs = normalise(new double[]{p[words[0]], p[words[1]], p[words[2]]});
            double[] q = new double[3];
            for (int c = 0; c < 3; c++) q[c] = labelProbs[c] / pcf[c];  // W = inv(identity * p_cf), b = 0
            q = normalise(q);
            double[] ours = cal.apply(lw.scores(Tensor.constant(Nd4j.create(new double[][]{Z[row]}))).value().toDoubleMatrix())[0];
            for (int c = 0; c < 3; c++) assertThat(Math.exp(ours[c])).as("row %d class %d", row, c).isCloseTo(q[c], within(1e-12));
        }
    }

    /** OpenPrompt's ManualVerbalizer.process_logits with _calibrate_logits = the mean of the raw logits over the inputs. */
    @ParameterizedTest
    @EnumSource(value = MultiToken.class, names = {"FIRST", "MEAN", "MAX"})
    void unlabelledCalibrationIsOpenPromptsCalibrate(MultiToken h) {
        String[][][] words = {{{"great"}, {"super", "##b"}}, {{"terrible"}, {"bad"}, {"awful"}}};
        Verbalizer v = Verbalizer.parse("positive=great,superb;negative=terrible,bad,awful").withMultiToken(h);
        int n = Z.length;
        double[] meanLogits = new double[Z[0].length];
        for (double[] z : Z) for (int i = 0; i < z.length; i++) meanLogits[i] += z[i] / n;      // calibrate(): all_logits.mean(dim=0)
        double[] calProbs = labelWordProbs(meanLogits, words, h);                               // normalize(project(calibrate_logits))
        // ours: the mean of the vocabulary log-softmax rows, scored by the verbalizer
        INDArray lp = Nd4j.create(Z);
        for (int r = 0; r < n; r++) {
            double m = 0;
            for (double x : Z[r]) m += Math.exp(x);
            lp.getRow(r).subi(Math.log(m));
        }
        LabelWords lw = v.bind(TOK);
        Calibration cal = Calibration.meanOf(lp.mean(0), lw);
        for (int r = 0; r < n; r++) {
            double[] p = labelWordProbs(Z[r], words, h);
            double norm = 0;
            for (int i = 0; i < p.length; i++) norm += p[i] /= calProbs[i] + 1e-15;
            double[] labelLogits = new double[2];
            int at = 0;
            for (int c = 0; c < 2; c++) {
                for (int w = 0; w < words[c].length; w++) labelLogits[c] += Math.log(p[at++] / norm + 1e-15) / words[c].length;   // log, aggregate (mean)
            }
            double[] expected = softmax(labelLogits);
            double[] ours = cal.apply(lw.scores(Tensor.constant(Nd4j.create(new double[][]{Z[r]}))).value().toDoubleMatrix())[0];
            for (int c = 0; c < 2; c++) assertThat(Math.exp(ours[c])).as("row %d class %d", r, c).isCloseTo(expected[c], within(1e-9));
        }
    }

    /** project (multi-token handler on raw logits) then normalize (softmax over all label words), flattened in class/word order. */
    private static double[] labelWordProbs(double[] z, String[][][] words, MultiToken h) {
        java.util.List<Double> w = new java.util.ArrayList<>();
        for (String[][] cls : words) {
            for (String[] word : cls) {
                double[] t = java.util.Arrays.stream(word).mapToDouble(tok -> z[bertId(tok)]).toArray();
                w.add(switch (h) {
                    case SINGLE, FIRST -> t[0];
                    case MEAN -> java.util.Arrays.stream(t).average().orElseThrow();
                    case MAX -> java.util.Arrays.stream(t).max().orElseThrow();
                });
            }
        }
        return softmax(w.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
