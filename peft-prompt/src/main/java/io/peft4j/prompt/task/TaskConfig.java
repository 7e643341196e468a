package io.peft4j.prompt.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.io.Json;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a trained classifier directory records besides its adapter, head, template and verbalizer files, so
 * that evaluating it or classifying new text needs nothing else: the base model it was trained on, its labels,
 * how records are read (text fields, label field, label map) and encoded (maximum length, truncation), and
 * how it was trained. Written as {@value #FILE}.
 *
 * @param baseModel  the base model's name or directory, as given when training
 * @param labels     the label names, in class order
 * @param data       how records are read: text fields, label field and label map (no limit, no format)
 * @param maxLength  tokens per example, special tokens included
 * @param truncation which end of a long text loses tokens
 * @param method     the method trained ({@code lora}, ..., {@code full}, {@code none})
 * @param training   the training settings, for the record (free-form)
 */
public record TaskConfig(String baseModel, List<String> labels, DataSpec data, int maxLength, Truncation truncation, String method,
                         Map<String, Object> training) {
    /** The file name in a classifier directory. */
    public static final String FILE = "task.json";
    /** The value of the file's {@code format} field. */
    static final String FORMAT = "peft4j-classifier";

    public TaskConfig {
        labels = List.copyOf(labels);
        training = training == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(training));
    }

    /** The JSON form. */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("format", FORMAT);
        n.put("version", 1);
        n.put("base_model", baseModel);
        labels.forEach(n.putArray("labels")::add);
        data.textFields().forEach(n.putArray("text_fields")::add);
        if (data.labelField() != null) n.put("label_field", data.labelField());
        ObjectNode map = n.putObject("label_map");
        data.labelMap().forEach(map::put);
        n.put("max_length", maxLength);
        n.put("truncation", truncation.name().toLowerCase(java.util.Locale.ROOT));
        n.put("method", method);
        n.set("training", Json.MAPPER.valueToTree(training));
        return n;
    }

    /** Reads {@value #FILE}; faults name the file and field. */
    public static TaskConfig read(Path file) {
        JsonNode n = Json.read(file);
        if (!n.isObject() || !FORMAT.equals(n.path("format").asText())) {
            throw PeftException.inFile(file, "not a peft4j classifier's " + FILE + " (field 'format' must be \"" + FORMAT + "\")");
        }
        String base = text(n, "base_model", file);
        List<String> labels = strings(n, "labels", file);
        if (labels.size() < 2) throw PeftException.inFile(file, "field 'labels' must list at least two labels");
        List<String> fields = strings(n, "text_fields", file);
        Map<String, String> map = new LinkedHashMap<>();
        JsonNode m = n.path("label_map");
        if (!m.isMissingNode() && !m.isObject()) throw PeftException.inFile(file, "field 'label_map' must be an object");
        m.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
        DataSpec spec;
        try {
            spec = DataSpec.defaults().withTextFields(fields.toArray(String[]::new)).withLabelField(n.path("label_field").asText("label")).withLabelMap(map);
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(file, e.getMessage());
        }
        JsonNode ml = n.path("max_length");
        if (!ml.isIntegralNumber() || !ml.canConvertToInt() || ml.asInt() <= 0) throw PeftException.inFile(file, "field 'max_length' must be a positive integer, not " + ml);
        Truncation t = Truncation.parse(n.path("truncation").asText("end"));
        if (t == null) throw PeftException.inFile(file, "field 'truncation' must be \"end\" or \"start\", not " + n.get("truncation"));
        JsonNode tr = n.get("training");
        if (tr != null && !tr.isNull() && !tr.isObject()) throw PeftException.inFile(file, "field 'training' must be an object, not " + tr);
        @SuppressWarnings("unchecked")
        Map<String, Object> training = tr != null && tr.isObject() ? Json.MAPPER.convertValue(tr, Map.class) : Map.of();
        return new TaskConfig(base, labels, spec, ml.asInt(), t, n.path("method").asText("unknown"), training);
    }

    private static String text(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) throw PeftException.inFile(file, "field '" + field + "' must be a non-empty string");
        return v.asText();
    }

    private static List<String> strings(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray() || v.isEmpty()) throw PeftException.inFile(file, "field '" + field + "' must be a non-empty list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual() || e.asText().isEmpty()) throw PeftException.inFile(file, "field '" + field + "' must list non-empty strings, not " + e);
            out.add(e.asText());
        }
        return out;
    }
}
