package io.peft4j.core.data;

import io.peft4j.core.PeftException;

import java.util.Map;

/** Checks one line's fields against a {@link DataSpec} and makes the {@link TextRecord}; faults name the file and line. */
final class RecordMaker {
    private final DataSpec spec;
    private final String source;

    RecordMaker(DataSpec spec, String source) {
        this.spec = spec;
        this.source = source;
    }

    /**
     * @param values   the line's scalar fields as strings
     * @param nonText  the line's fields that are not strings, and what they are ("a number", "null", "an array")
     * @param where    "line 5" or "line 5 (record 3)"
     */
    TextRecord make(Map<String, String> values, Map<String, String> nonText, long line, String where) {
        for (String f : spec.textFields()) {
            String kind = nonText.get(f);
            if (kind != null) throw fault(where, "text field '" + f + "' is " + kind + ", not a string");
            if (!values.containsKey(f)) throw fault(where, "no field '" + f + "'" + has(values));
        }
        String lf = spec.labelField();
        if (lf == null) return new TextRecord(values, null, source, line);
        String kind = nonText.get(lf);
        if (kind != null && !values.containsKey(lf)) {
            throw fault(where, "label field '" + lf + "' is " + kind + ", not a string, number or boolean");
        }
        String raw = values.get(lf);
        if (raw == null) throw fault(where, "no field '" + lf + "'" + has(values));
        if (raw.isEmpty()) throw fault(where, "label field '" + lf + "' is empty");
        String label = raw;
        if (!spec.labelMap().isEmpty()) {
            label = spec.labelMap().get(raw);
            if (label == null) {
                throw fault(where, "label '" + raw + "' is not in the label map (it maps " + String.join(", ", spec.labelMap().keySet()) + ")");
            }
        }
        return new TextRecord(values, label, source, line);
    }

    PeftException fault(String where, String what) {
        return PeftException.inFile(source, where + ": " + what);
    }

    private static String has(Map<String, String> values) {
        return values.isEmpty() ? "" : " (the line has: " + String.join(", ", values.keySet()) + ")";
    }
}
