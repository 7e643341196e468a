package io.peft4j.demo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TF-IDF word features as scikit-learn's {@code TfidfVectorizer(max_features=N, sublinear_tf=True)} computes them:
 * lower-cased words of two or more word characters ({@code \b\w\w+\b}), the {@code N} most frequent over the
 * training documents (ties by word), {@code tf = 1 + ln(count)}, smooth
 * {@code idf = ln((1 + n) / (1 + df)) + 1}, each row scaled to unit L2 norm (a document without a known word stays 0).
 *
 * <pre>{@code
 * TfIdf v = TfIdf.fit(List.of("free money now", "meeting at noon"), 10_000);
 * float[] x = v.transform(List.of("free lunch at noon"));    // [1, v.size()], row-major
 * }</pre>
 */
public final class TfIdf {
    private static final Pattern WORD = Pattern.compile("\\b\\w\\w+\\b", Pattern.UNICODE_CHARACTER_CLASS);

    private final List<String> vocabulary;
    private final Map<String, Integer> index;
    private final double[] idf;

    private TfIdf(List<String> vocabulary, double[] idf) {
        this.vocabulary = List.copyOf(vocabulary);
        this.idf = idf;
        this.index = new HashMap<>();
        for (int i = 0; i < vocabulary.size(); i++) index.put(vocabulary.get(i), i);
    }

    /** The words of {@code doc}: lower-cased runs of two or more word characters, in order. */
    public static List<String> words(String doc) {
        List<String> out = new ArrayList<>();
        Matcher m = WORD.matcher(doc.toLowerCase(Locale.ROOT));
        while (m.find()) out.add(m.group());
        return out;
    }

    /** Fits the vocabulary (at most {@code maxFeatures} words) and the idf on {@code docs}. */
    public static TfIdf fit(List<String> docs, int maxFeatures) {
        if (maxFeatures <= 0) throw new IllegalArgumentException("max features must be positive, not " + maxFeatures);
        Map<String, long[]> stats = new HashMap<>();          // word -> {count over the corpus, documents containing it}
        for (String d : docs) {
            Map<String, Integer> counts = counts(d);
            counts.forEach((w, c) -> {
                long[] s = stats.computeIfAbsent(w, k -> new long[2]);
                s[0] += c;
                s[1]++;
            });
        }
        List<String> words = new ArrayList<>(stats.keySet());
        words.sort(Comparator.comparingLong((String w) -> -stats.get(w)[0]).thenComparing(Comparator.naturalOrder()));
        List<String> kept = new ArrayList<>(words.subList(0, Math.min(maxFeatures, words.size())));
        kept.sort(Comparator.naturalOrder());
        double[] idf = new double[kept.size()];
        int n = docs.size();
        for (int i = 0; i < kept.size(); i++) idf[i] = Math.log((1.0 + n) / (1.0 + stats.get(kept.get(i))[1])) + 1;
        return new TfIdf(kept, idf);
    }

    private static Map<String, Integer> counts(String doc) {
        Map<String, Integer> counts = new HashMap<>();
        for (String w : words(doc)) counts.merge(w, 1, Integer::sum);
        return counts;
    }

    /** The features of {@code docs}: {@code [docs, size()]}, row-major. */
    public float[] transform(List<String> docs) {
        int v = vocabulary.size();
        float[] x = new float[Math.multiplyExact(docs.size(), v)];
        double[] row = new double[v];
        for (int r = 0; r < docs.size(); r++) {
            java.util.Arrays.fill(row, 0);
            double norm = 0;
            for (var e : counts(docs.get(r)).entrySet()) {
                Integer j = index.get(e.getKey());
                if (j == null) continue;
                row[j] = (1 + Math.log(e.getValue())) * idf[j];
                norm += row[j] * row[j];
            }
            if (norm == 0) continue;
            double inv = 1 / Math.sqrt(norm);
            for (int j = 0; j < v; j++) x[r * v + j] = (float) (row[j] * inv);
        }
        return x;
    }

    /** The vocabulary, sorted (feature {@code j} is word {@code j}). */
    public List<String> vocabulary() {
        return vocabulary;
    }

    /** The number of features. */
    public int size() {
        return vocabulary.size();
    }

    /** The idf of feature {@code j}. */
    public double idf(int j) {
        return idf[j];
    }
}
