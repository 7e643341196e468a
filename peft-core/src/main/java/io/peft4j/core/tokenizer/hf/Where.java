package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;

import java.util.List;

/**
 * A place in a {@code tokenizer.json}: the file and the field path ({@code pre_tokenizer.pretokenizers[1].type}).
 * Reads typed fields and builds the one {@link PeftException} that names both when a field is missing, of the
 * wrong type, or holds a value this package does not support.
 */
record Where(Object file, String path) {
    static Where root(Object file) {
        return new Where(file, "");
    }

    Where at(String key) {
        return new Where(file, path.isEmpty() ? key : path + "." + key);
    }

    Where at(int index) {
        return new Where(file, path + "[" + index + "]");
    }

    /** {@code "<file>: <path>: <fault>"}. */
    PeftException fail(String fault) {
        return PeftException.inFile(file, (path.isEmpty() ? "" : path + ": ") + fault);
    }

    /** {@code "<file>: <path> '<value>' is not supported (supported: a, b)"}. */
    PeftException unsupported(String value, List<String> supported) {
        return PeftException.inFile(file, path + " '" + value + "' is not supported (supported: " + String.join(", ", supported) + ")");
    }

    /** The object itself; anything else is a fault. */
    JsonNode object(JsonNode n) {
        if (n == null || !n.isObject()) throw fail("must be a JSON object, not " + kind(n));
        return n;
    }

    /** Field {@code key} of object {@code n} as text; {@code dflt} when absent or null ({@code null} dflt: required). */
    String text(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (dflt == null) throw at(key).fail("missing");
            return dflt;
        }
        if (!v.isTextual()) throw at(key).fail("must be a string, not " + kind(v));
        return v.asText();
    }

    /** Field {@code key} as text or {@code null} when absent or null. */
    String optionalText(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw at(key).fail("must be a string or null, not " + kind(v));
        return v.asText();
    }

    boolean bool(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw at(key).fail("must be true or false, not " + kind(v));
        return v.asBoolean();
    }

    int integer(JsonNode n, String key, int dflt, int min, int max) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw at(key).fail("must be an integer in " + min + ".." + max + ", not " + v);
        }
        return v.asInt();
    }

    /** Field {@code key} as an array (required). */
    JsonNode array(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isArray()) throw at(key).fail("must be an array, not " + kind(v));
        return v;
    }

    /** The single character of a one-character string field (Metaspace's {@code replacement}, Strip's {@code content}). */
    int character(JsonNode n, String key, String dflt) {
        String s = text(n, key, dflt);
        if (s.codePointCount(0, s.length()) != 1) throw at(key).fail("must be one character, not '" + s + "'");
        return s.codePointAt(0);
    }

    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "missing";
        if (n.isNull()) return "null";
        if (n.isTextual()) return "the string '" + n.asText() + "'";
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return n.toString();
    }
}
