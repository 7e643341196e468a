package io.peft4j.sft.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Scores of a generated answer against a reference.
 *
 * <ul>
 *   <li>{@link #exactMatch}: the two texts are equal once leading and trailing whitespace is stripped.</li>
 *   <li>{@link #normalize} and {@link #normalizedMatch}: SQuAD's {@code normalize_answer} (lower case; ASCII punctuation,
 *       Python's {@code string.punctuation}, removed; the words {@code a}, {@code an}, {@code the} removed; runs of
 *       whitespace made one space, ends stripped), then equality.</li>
 *   <li>{@link #labelMatch}: normalised accuracy for label-like answers: {@link #normalizedMatch}, or, when the normalised
 *       reference is one word, the normalised answer's first word equals it ("Positive. The review praises..." is
 *       {@code positive}).</li>
 *   <li>{@link #rougeL}: ROUGE-L as Google's {@code rouge-score} package computes it with its defaults (no stemming):
 *       both texts lower-cased, every run of characters other than {@code a-z0-9} made a space, split on whitespace;
 *       with {@code m} reference tokens, {@code n} answer tokens and {@code l} the length of their longest common
 *       subsequence, precision {@code l/n}, recall {@code l/m}, F-measure {@code 2PR/(P+R)}; all 0 when either text
 *       has no tokens. Porter stemming ({@code use_stemmer=True}) is not implemented.</li>
 * </ul>
 *
 * <pre>{@code
 * TextMetrics.rougeL("testing one two", "testing two").f();   // 0.8
 * TextMetrics.labelMatch("Spam!", "spam");                   // true
 * }</pre>
 */
public final class TextMetrics {
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPACES = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern NON_ALNUM = Pattern.compile("[^a-z0-9]+");
    private static final Pattern ROUGE_SPACES = Pattern.compile("\\s+");
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private TextMetrics() {
    }

    /** ROUGE precision, recall and F-measure. */
    public record Rouge(double p, double r, double f) {
    }

    /** Equal once stripped of surrounding whitespace. */
    public static boolean exactMatch(String prediction, String reference) {
        return prediction.strip().equals(reference.strip());
    }

    /** SQuAD's {@code normalize_answer}. */
    public static String normalize(String s) {
        String t = s.toLowerCase(Locale.ROOT);
        StringBuilder b = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) if (PUNCTUATION.indexOf(t.charAt(i)) < 0) b.append(t.charAt(i));
        t = ARTICLES.matcher(b).replaceAll(" ");
        return String.join(" ", Arrays.stream(SPACES.split(t.strip())).filter(w -> !w.isEmpty()).toList());
    }

    /** Equal after {@link #normalize}. */
    public static boolean normalizedMatch(String prediction, String reference) {
        return normalize(prediction).equals(normalize(reference));
    }

    /** {@link #normalizedMatch}, or a one-word normalised reference equal to the normalised answer's first word. */
    public static boolean labelMatch(String prediction, String reference) {
        String p = normalize(prediction), r = normalize(reference);
        if (p.equals(r)) return true;
        if (r.isEmpty() || r.indexOf(' ') >= 0) return false;
        int sp = p.indexOf(' ');
        return (sp < 0 ? p : p.substring(0, sp)).equals(r);
    }

    /** {@code rouge-score}'s tokenizer without stemming. */
    public static List<String> rougeTokens(String text) {
        String t = NON_ALNUM.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ");
        List<String> out = new ArrayList<>();
        for (String w : ROUGE_SPACES.split(t)) if (!w.isEmpty()) out.add(w);
        return out;
    }

    /** ROUGE-L of {@code prediction} against {@code reference} ({@code rouge-score}'s {@code score(target, prediction)}). */
    public static Rouge rougeL(String reference, String prediction) {
        List<String> ref = rougeTokens(reference), pred = rougeTokens(prediction);
        if (ref.isEmpty() || pred.isEmpty()) return new Rouge(0, 0, 0);
        int l = lcs(ref, pred);
        double p = (double) l / pred.size(), r = (double) l / ref.size();
        return new Rouge(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
    }

    /** The length of the longest common subsequence. */
    static int lcs(List<String> a, List<String> b) {
        int[] prev = new int[b.size() + 1], cur = new int[b.size() + 1];
        for (int i = 1; i <= a.size(); i++) {
            for (int j = 1; j <= b.size(); j++) {
                cur[j] = a.get(i - 1).equals(b.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.size()];
    }
}
