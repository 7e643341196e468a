package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Typed reads of {@code adapter_config.json} fields whose errors name the file, the field and the fault. */
public final class ConfigFields {
    private final JsonNode json;
    private final Path file;

    public ConfigFields(JsonNode json, Path file) {
        this.json = json;
        this.file = file;
    }

    public JsonNode json() {
        return json;
    }

    private PeftException fault(String field, String what) {
        return PeftException.inFile(file == null ? Path.of("adapter_config.json") : file, "field '" + field + "' " + what);
    }

    private boolean absent(String field) {
        return !json.has(field) || json.get(field).isNull();
    }

    public int positiveInt(String field, Integer dflt) {
        if (absent(field)) {
            if (dflt == null) throw fault(field, "is missing");
            return dflt;
        }
        JsonNode n = json.get(field);
        if (!n.isIntegralNumber() || n.asLong() <= 0 || n.asLong() > Integer.MAX_VALUE) throw fault(field, "must be a positive integer, not " + n);
        return n.asInt();
    }

    /** A positive integer, or null when the field is absent. */
    public Integer optionalPositiveInt(String field) {
        return absent(field) ? null : positiveInt(field, null);
    }

    public double number(String field, double dflt, double min, double max) {
        if (absent(field)) return dflt;
        JsonNode n = json.get(field);
        if (!n.isNumber() || n.asDouble() < min || n.asDouble() > max) throw fault(field, "must be a number in [" + min + ", " + max + "], not " + n);
        return n.asDouble();
    }

    public boolean bool(String field, boolean dflt) {
        if (absent(field)) return dflt;
        JsonNode n = json.get(field);
        if (!n.isBoolean()) throw fault(field, "must be true or false, not " + n);
        return n.asBoolean();
    }

    public String text(String field, String dflt) {
        if (absent(field)) return dflt;
        JsonNode n = json.get(field);
        if (!n.isTextual()) throw fault(field, "must be a string, not " + n);
        return n.asText();
    }

    /** A string or a list of strings; null when absent. */
    public List<String> strings(String field) {
        if (absent(field)) return null;
        JsonNode n = json.get(field);
        if (n.isTextual()) return List.of(n.asText());
        if (!n.isArray()) throw fault(field, "must be a string or a list of strings, not " + n);
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw fault(field, "must list strings, not " + e);
            out.add(e.asText());
        }
        return out;
    }

    /** An integer or a list of integers; null when absent. */
    public List<Integer> ints(String field) {
        if (absent(field)) return null;
        JsonNode n = json.get(field);
        if (n.isIntegralNumber()) return List.of(n.asInt());
        if (!n.isArray()) throw fault(field, "must be an integer or a list of integers, not " + n);
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isIntegralNumber()) throw fault(field, "must list integers, not " + e);
            out.add(e.asInt());
        }
        return out;
    }

    /** An enum constant by its exact name; the error lists the allowed names. */
    public <E extends Enum<E>> E enumValue(String field, Class<E> type, E dflt) {
        String name = text(field, dflt == null ? null : dflt.name());
        if (name == null) throw fault(field, "is missing");
        for (E e : type.getEnumConstants()) if (e.name().equals(name)) return e;
        throw fault(field, "is '" + name + "', not one of " + java.util.Arrays.toString(type.getEnumConstants()));
    }
}
