package io.peft4j.core.data;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How to read labelled text from a data file.
 *
 * <pre>{@code
 * DataSpec pairs = DataSpec.defaults().withTextFields("premise", "hypothesis")
 *         .withLabelMap(Map.of("0", "entailment", "1", "neutral", "2", "contradiction"));
 * }</pre>
 *
 * @param textFields one field (a single text) or two (a text pair: text_a, text_b); each must be a string
 * @param labelField the field holding the label (a JSON string, number or boolean; a CSV column); null for
 *                   unlabelled text (records to classify: their {@link TextRecord#label()} is null)
 * @param labelMap   raw label value to label name; empty: labels are taken as they are. When not empty, a
 *                   value missing from the map is an error naming the line
 * @param limit      read at most this many records ({@link Integer#MAX_VALUE}: all)
 * @param format     the file format; null: from the file name's extension ({@link Format#of})
 */
public record DataSpec(List<String> textFields, String labelField, Map<String, String> labelMap, int limit, Format format) {
    public DataSpec {
        textFields = List.copyOf(textFields);
        if (textFields.isEmpty() || textFields.size() > 2) {
            throw new IllegalArgumentException("one text field (a single text) or two (a text pair), not " + textFields);
        }
        if (new HashSet<>(textFields).size() != textFields.size()) throw new IllegalArgumentException("text fields repeat: " + textFields);
        for (String f : textFields) if (f.isBlank()) throw new IllegalArgumentException("a text field name is blank: " + textFields);
        if (labelField != null && labelField.isBlank()) throw new IllegalArgumentException("the label field name is blank");
        labelMap = java.util.Collections.unmodifiableMap(new TreeMap<>(labelMap));
        if (limit <= 0) throw new IllegalArgumentException("limit must be positive, not " + limit);
    }

    /** Text field {@code "text"}, label field {@code "label"}, no label map, no limit, format by extension. */
    public static DataSpec defaults() {
        return new DataSpec(List.of("text"), "label", Map.of(), Integer.MAX_VALUE, null);
    }

    /** With one text field, or two for a text pair. */
    public DataSpec withTextFields(String... fields) {
        return new DataSpec(Arrays.asList(fields), labelField, labelMap, limit, format);
    }

    public DataSpec withLabelField(String field) {
        return new DataSpec(textFields, field, labelMap, limit, format);
    }

    /** With a map from raw label values to label names (empty: none). */
    public DataSpec withLabelMap(Map<String, String> map) {
        return new DataSpec(textFields, labelField, map, limit, format);
    }

    public DataSpec withLimit(int maxRecords) {
        return new DataSpec(textFields, labelField, labelMap, maxRecords, format);
    }

    /** With a fixed format (null: from the file name's extension). */
    public DataSpec withFormat(Format f) {
        return new DataSpec(textFields, labelField, labelMap, limit, f);
    }

    /** Unlabelled text: no label field is read (a label present in the data is ignored). */
    public DataSpec withoutLabels() {
        return new DataSpec(textFields, null, Map.of(), limit, format);
    }

    /** Whether records carry labels. */
    public boolean labelled() {
        return labelField != null;
    }

    /** Whether records are text pairs (two text fields). */
    public boolean pairs() {
        return textFields.size() == 2;
    }
}
