package io.peft4j.core.data;

import io.peft4j.core.PeftException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One example as read from a data file: its fields and, in labelled data, its label.
 *
 * @param fields every scalar field of the line (a CSV row: every column) as a string, in the file's order;
 *               JSON numbers and booleans as their JSON text ({@code 1.50} stays {@code "1.50"}); JSON nulls,
 *               arrays and objects are left out
 * @param label  the label after the {@link DataSpec#labelMap() label map}; null in unlabelled data
 *               ({@link DataSpec#withoutLabels()})
 * @param source the file (or built-in resource) it came from, for messages
 * @param line   the 1-based line it starts on, for messages
 */
public record TextRecord(Map<String, String> fields, String label, String source, long line) {
    public TextRecord {
        Objects.requireNonNull(source, "source");
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** The value of field {@code name}; a {@link PeftException} naming the file and line when the record has none. */
    public String field(String name) {
        String v = fields.get(name);
        if (v == null) throw error("no field '" + name + "' (the record has: " + String.join(", ", fields.keySet()) + ")");
        return v;
    }

    /** A {@link PeftException} about this record: {@code "<source>: line <line>: <fault>"}. */
    public PeftException error(String fault) {
        return PeftException.inFile(source, "line " + line + ": " + fault);
    }
}
