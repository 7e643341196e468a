package io.peft4j.core.data;

import io.peft4j.core.PeftException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Seeded, stratified samples of records. The same records, size and seed give the same sample on every run
 * and JVM: labels are visited in sorted order and drawn with {@link java.util.Random}, whose sequence the Java
 * specification fixes; the sample keeps the records' input order.
 */
public final class Sampling {
    private Sampling() {
    }

    /**
     * {@code k} records of each label, drawn without replacement. A label with fewer than {@code k} records is a
     * {@link PeftException} naming the label and the counts.
     *
     * <pre>{@code
     * List<TextRecord> shots = Sampling.kShot(Datasets.load("spam", Split.TRAIN), 16, 42);   // 16 ham, 16 spam
     * }</pre>
     */
    public static List<TextRecord> kShot(List<TextRecord> records, int k, long seed) {
        if (k <= 0) throw new IllegalArgumentException("k must be positive, not " + k);
        Map<String, List<Integer>> byLabel = byLabel(records);
        for (var e : byLabel.entrySet()) {
            if (e.getValue().size() < k) {
                throw PeftException.inFile(records.get(0).source(), k + "-shot sample: label '" + e.getKey() + "' has only " + e.getValue().size()
                        + " records (per label: " + counts(byLabel) + ")");
            }
        }
        Map<String, Integer> quota = new TreeMap<>();
        byLabel.keySet().forEach(l -> quota.put(l, k));
        return draw(records, byLabel, quota, seed);
    }

    /**
     * {@code n} records whose labels keep the proportions of {@code records}: label l gets
     * {@code floor(n * count(l) / total)} records, and the ones left over go to the labels with the largest
     * remainders (ties: the label first in sorted order). Drawn without replacement.
     */
    public static List<TextRecord> stratifiedSubset(List<TextRecord> records, int n, long seed) {
        if (n <= 0) throw new IllegalArgumentException("n must be positive, not " + n);
        if (records.isEmpty()) throw new IllegalArgumentException("no records to sample from");
        if (n > records.size()) {
            throw PeftException.inFile(records.get(0).source(), "a subset of " + n + " records asked from only " + records.size());
        }
        Map<String, List<Integer>> byLabel = byLabel(records);
        long total = records.size();
        Map<String, Integer> quota = new TreeMap<>();
        int given = 0;
        for (var e : byLabel.entrySet()) {
            int q = (int) ((long) n * e.getValue().size() / total);
            quota.put(e.getKey(), q);
            given += q;
        }
        List<String> order = new ArrayList<>(byLabel.keySet());   // sorted; a stable sort keeps ties in that order
        order.sort((a, b) -> Long.compare(remainder(n, byLabel.get(b).size(), total), remainder(n, byLabel.get(a).size(), total)));
        for (int i = 0; given < n; i++, given++) quota.merge(order.get(i), 1, Integer::sum);
        return draw(records, byLabel, quota, seed);
    }

    /** The remainder of {@code n * count / total}, as an integer numerator over {@code total} (exact). */
    private static long remainder(int n, int count, long total) {
        return (long) n * count % total;
    }

    private static Map<String, List<Integer>> byLabel(List<TextRecord> records) {
        if (records.isEmpty()) throw new IllegalArgumentException("no records to sample from");
        Map<String, List<Integer>> m = new TreeMap<>();
        for (int i = 0; i < records.size(); i++) m.computeIfAbsent(Labels.labelOf(records.get(i)), l -> new ArrayList<>()).add(i);
        return m;
    }

    /** Per label in sorted order, a partial Fisher-Yates shuffle of its record indices picks its quota; the picks in input order. */
    private static List<TextRecord> draw(List<TextRecord> records, Map<String, List<Integer>> byLabel, Map<String, Integer> quota, long seed) {
        Random rnd = new Random(seed);
        List<Integer> picked = new ArrayList<>();
        for (var e : byLabel.entrySet()) {
            int[] idx = e.getValue().stream().mapToInt(Integer::intValue).toArray();
            int q = quota.get(e.getKey());
            for (int i = 0; i < q; i++) {
                int j = i + rnd.nextInt(idx.length - i);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                picked.add(idx[i]);
            }
        }
        int[] sorted = picked.stream().mapToInt(Integer::intValue).sorted().toArray();
        return Arrays.stream(sorted).mapToObj(records::get).toList();
    }

    private static String counts(Map<String, List<Integer>> byLabel) {
        StringBuilder sb = new StringBuilder();
        byLabel.forEach((l, ix) -> sb.append(sb.length() == 0 ? "" : ", ").append(l).append(' ').append(ix.size()));
        return sb.toString();
    }
}
