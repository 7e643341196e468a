package io.peft4j.probe;

import io.peft4j.core.PeftException;

import java.util.List;

/**
 * Texts (or text pairs) with one label each: the input of a probing run, independent of any file format.
 *
 * <pre>{@code
 * LabeledTexts train = LabeledTexts.of(List.of("good", "awful"), List.of("positive", "negative"));
 * }</pre>
 *
 * @param texts  the first (or only) segment of each example
 * @param pairs  the second segment of each example (BERT sentence pairs), or null for single texts
 * @param labels one label name per example
 */
public record LabeledTexts(List<String> texts, List<String> pairs, List<String> labels) {
    public LabeledTexts {
        if (texts == null || labels == null) throw new IllegalArgumentException("texts and labels are required");
        if (texts.size() != labels.size()) throw new PeftException(texts.size() + " texts but " + labels.size() + " labels");
        if (pairs != null && pairs.size() != texts.size()) throw new PeftException(texts.size() + " texts but " + pairs.size() + " second segments");
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null) throw new PeftException("example " + i + ": no text");
            if (pairs != null && pairs.get(i) == null) throw new PeftException("example " + i + ": no second segment");
            if (labels.get(i) == null) throw new PeftException("example " + i + ": no label");
        }
        texts = List.copyOf(texts);
        pairs = pairs == null ? null : List.copyOf(pairs);
        labels = List.copyOf(labels);
    }

    /** Single-segment examples. */
    public static LabeledTexts of(List<String> texts, List<String> labels) {
        return new LabeledTexts(texts, null, labels);
    }

    /** The records' text field(s) (a pair when {@code spec} names two) and labels, as read with {@code spec}. */
    public static LabeledTexts of(List<io.peft4j.core.data.TextRecord> records, io.peft4j.core.data.DataSpec spec) {
        List<String> a = new java.util.ArrayList<>(), b = spec.pairs() ? new java.util.ArrayList<>() : null, labels = new java.util.ArrayList<>();
        for (var r : records) {
            a.add(r.field(spec.textFields().get(0)));
            if (b != null) b.add(r.field(spec.textFields().get(1)));
            labels.add(io.peft4j.core.data.Labels.of(List.of(r)).get(0));
        }
        return new LabeledTexts(a, b, labels);
    }

    /** Number of examples. */
    public int size() {
        return texts.size();
    }
}
