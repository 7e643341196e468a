package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where labelled text comes from and how it is read: {@code --data} (a JSON-lines, CSV or TSV file, or a built-in
 * dataset's name: its train split, or the split it names, {@code spam:dev}), the text field(s), label field, label
 * map and limit. A built-in dataset brings its own text field(s) unless {@code --text-field} says otherwise; other
 * files a command reads ({@code --dev}) are read with the same spec.
 */
final class DataOptions {
    @Option(names = "--data", required = true, paramLabel = "FILE|NAME",
            description = "Labelled data: a JSON-lines (.jsonl), CSV (.csv) or TSV (.tsv) file, or a built-in dataset's train split "
                    + "(afinn-sentiment, name-gender, opinion-words, sotu, spam, stopword-language; see 'peft datasets'); NAME:dev is its dev split.")
    String data;
    @Option(names = "--text-field", paramLabel = "FIELD[,FIELD2]",
            description = "Field holding the text, or two comma-separated fields for a text pair (default: text; a built-in dataset's own).")
    String textField;
    @Option(names = "--label-field", paramLabel = "FIELD", description = "Field holding the label (default: label).")
    String labelField;
    @Option(names = "--label-map", paramLabel = "RAW=NAME,...",
            description = "Maps raw label values to label names, e.g. 0=negative,1=positive; a value not in the map is an error.")
    String labelMap;
    @Option(names = "--limit", description = "Use at most this many examples of each file.")
    Integer limit;

    /** The data spec: the built-in dataset's own (or the defaults) with the options given. */
    DataSpec spec() {
        DataSpec s = Datasets.defaultSpec(data);
        if (textField != null) {
            String[] fields = Arrays.stream(textField.split(",", -1)).map(String::trim).toArray(String[]::new);
            if (fields.length > 2 || Arrays.stream(fields).anyMatch(String::isEmpty)) {
                throw new PeftException("--text-field: one field, or two comma-separated fields for a text pair, not '" + textField + "'");
            }
            if (fields.length == 2 && fields[0].equals(fields[1])) throw new PeftException("--text-field: the pair names '" + fields[0] + "' twice");
            s = s.withTextFields(fields);
        }
        if (labelField != null) {
            if (labelField.isBlank()) throw new PeftException("--label-field is empty");
            s = s.withLabelField(labelField);
        }
        if (labelMap != null) s = s.withLabelMap(labelMap(labelMap));
        if (limit != null) {
            if (limit <= 0) throw new PeftException("--limit must be positive, not " + limit);
            s = s.withLimit(limit);
        }
        return s;
    }

    /** The records of {@code --data}. */
    List<TextRecord> records(DataSpec spec) {
        return Datasets.load(data, Split.TRAIN, spec);
    }

    /** The records of another file or built-in name read with {@code spec} (a built-in's dev split); empty when {@code fileOrName} is null. */
    static List<TextRecord> dev(String fileOrName, DataSpec spec) {
        return fileOrName == null ? List.of() : Datasets.load(fileOrName, Split.DEV, spec);
    }

    static Map<String, String> labelMap(String option) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String pair : option.split(",", -1)) {
            int eq = pair.indexOf('=');
            String raw = eq < 0 ? "" : pair.substring(0, eq).trim(), name = eq < 0 ? "" : pair.substring(eq + 1).trim();
            if (raw.isEmpty() || name.isEmpty()) {
                throw new PeftException("--label-map: expected RAW=NAME pairs separated by commas (e.g. 0=negative,1=positive), not '" + option + "'");
            }
            if (m.put(raw, name) != null) throw new PeftException("--label-map: '" + raw + "' is mapped twice");
        }
        return m;
    }
}
