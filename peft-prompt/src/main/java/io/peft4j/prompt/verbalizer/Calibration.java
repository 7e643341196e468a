package io.peft4j.prompt.verbalizer;

import io.peft4j.core.PeftException;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Calibration of class scores against a reference: calibrated log-probabilities
 * {@code log_softmax_C(s(x) - s_ref)}. Without a reference ({@link #none}) they are {@code log_softmax_C(s(x))}.
 * <ul>
 *   <li>{@link #contentFree}: contextual calibration (Zhao et al. 2021): {@code s_ref = log p_cf}, p_cf the mean
 *   over content-free inputs (e.g. {@code N/A} in place of the input) of {@code exp(s(cf))}. Then
 *   {@code exp(result) = normalise(diag(p_cf)^-1 p)} with p the class probabilities: Zhao et al.'s
 *   {@code W = diag(p_cf)^-1, b = 0}.</li>
 *   <li>{@link #meanOf}: OpenPrompt's {@code calibrate(prompt_model, dataloader)}: {@code s_ref} = the verbalizer's
 *   scores of the mean over unlabelled inputs of the vocabulary log-softmax at the answer position (OpenPrompt
 *   averages the raw logits: that differs by one constant per input, which cancels).</li>
 * </ul>
 */
public final class Calibration {
    private static final Calibration NONE = new Calibration(null);

    private final double[] reference;

    private Calibration(double[] reference) {
        this.reference = reference;
    }

    /** No calibration: log-probabilities are {@code log_softmax_C(s)}. */
    public static Calibration none() {
        return NONE;
    }

    /** Calibration against the reference class scores {@code s_ref} (one per class). */
    public static Calibration of(double[] referenceScores) {
        for (double s : referenceScores) if (!Double.isFinite(s)) throw new PeftException("calibration reference scores must be finite: " + Arrays.toString(referenceScores));
        return new Calibration(referenceScores.clone());
    }

    /**
     * Contextual calibration from the class scores {@code [N, C]} of N content-free inputs:
     * {@code s_ref = log mean_i exp(s_i)}, Zhao et al.'s average of the unnormalised label probabilities (with the
     * default {@link Normalization#VOCABULARY} and one word per label, {@code exp(s)} is the word's probability);
     * for one input {@code s_ref = s_1}.
     */
    public static Calibration contentFree(double[][] contentFreeScores) {
        if (contentFreeScores.length == 0) throw new PeftException("contextual calibration needs at least one content-free input");
        int c = contentFreeScores[0].length, n = contentFreeScores.length;
        double[] ref = new double[c];
        for (int j = 0; j < c; j++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (double[] s : contentFreeScores) max = Math.max(max, s[j]);
            for (double[] s : contentFreeScores) sum += Math.exp(s[j] - max);
            ref[j] = max + Math.log(sum / n);
        }
        return of(ref);
    }

    /** Calibration on unlabelled inputs from the mean {@code [V]} of their vocabulary log-softmax rows at the answer position. */
    public static Calibration meanOf(INDArray meanVocabularyLogProbs, LabelWords words) {
        INDArray row = meanVocabularyLogProbs.reshape(1, meanVocabularyLogProbs.length());
        return of(words.scores(Tensor.constant(row)).value().toDoubleMatrix()[0]);
    }

    /** Whether there is a reference to calibrate against. */
    public boolean isNone() {
        return reference == null;
    }

    /** The reference scores {@code s_ref}, or null for {@link #none}. */
    public double[] reference() {
        return reference == null ? null : reference.clone();
    }

    /** Calibrated log-probabilities {@code [B, C]} from class scores {@code [B, C]}. */
    public double[][] apply(double[][] scores) {
        double[][] out = new double[scores.length][];
        for (int r = 0; r < scores.length; r++) {
            double[] s = scores[r].clone();
            if (reference != null) {
                if (reference.length != s.length) throw new PeftException("calibration for " + reference.length + " classes applied to scores of " + s.length);
                for (int j = 0; j < s.length; j++) s[j] -= reference[j];
            }
            out[r] = logSoftmax(s);
        }
        return out;
    }

    private static double[] logSoftmax(double[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : s) max = Math.max(max, x);
        double sum = 0;
        for (double x : s) sum += Math.exp(x - max);
        double lse = max + Math.log(sum);
        double[] out = new double[s.length];
        for (int j = 0; j < s.length; j++) out[j] = s[j] - lse;
        return out;
    }
}
