package io.peft4j.core.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Label bookkeeping for record lists. */
public final class Labels {
    private Labels() {
    }

    /** The distinct labels of {@code records}, sorted (a classification head's label order). */
    public static List<String> of(List<TextRecord> records) {
        return new ArrayList<>(counts(records).keySet());
    }

    /** The record's label; a {@link io.peft4j.core.PeftException} naming its line when it has none (unlabelled data). */
    static String labelOf(TextRecord r) {
        if (r.label() == null) throw r.error("no label (the data was read without labels)");
        return r.label();
    }

    /** How many records carry each label, by label in sorted order. */
    public static Map<String, Integer> counts(List<TextRecord> records) {
        Map<String, Integer> m = new TreeMap<>();
        for (TextRecord r : records) m.merge(labelOf(r), 1, Integer::sum);
        return Collections.unmodifiableMap(m);
    }

    /** The most frequent label of {@code records} (the majority-class baseline's answer); of tied labels the first in sorted order. */
    public static String mostFrequent(List<TextRecord> records) {
        String top = null;
        int best = 0;
        for (var e : counts(records).entrySet()) {
            if (e.getValue() > best) {
                top = e.getKey();
                best = e.getValue();
            }
        }
        if (top == null) throw new IllegalArgumentException("no records");
        return top;
    }
}
