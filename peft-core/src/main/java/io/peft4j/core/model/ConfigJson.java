package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;

/**
 * Reads the fields of one {@code config.json}: every fault is a {@link PeftException} naming the file and the
 * field and quoting the value, and every size is bounded before anything is allocated from it (issue 14).
 */
final class ConfigJson {
    /**
     * Upper bounds no real model comes near (the largest vocabularies have about 260k tokens, the widest models
     * 16k-wide hidden states); a config beyond them is refused before anything is sized from it.
     */
    static final int MAX_VOCAB = 1 << 22, MAX_HIDDEN = 1 << 16, MAX_LAYERS = 1 << 10, MAX_INTERMEDIATE = 1 << 20,
            MAX_POSITIONS = 1 << 22, MAX_TOKEN_TYPES = 1 << 16;

    private final JsonNode c;
    private final String source, prefix;

    ConfigJson(JsonNode c, String source) {
        this(c, source, "");
    }

    private ConfigJson(JsonNode c, String source, String prefix) {
        this.c = c;
        this.source = source;
        this.prefix = prefix;
    }

    /** The field's name as messages give it: {@code rope_scaling.factor} inside a nested object. */
    String name(String field) {
        return prefix + field;
    }

    String source() {
        return source;
    }

    /** A fault of this file: {@code "<file>: <message>"}. */
    PeftException fault(String message) {
        return PeftException.inFile(source, message);
    }

    /** Whether the field is present and not null. */
    boolean has(String field) {
        JsonNode v = c.get(field);
        return v != null && !v.isNull();
    }

    JsonNode node(String field) {
        return c.get(field);
    }

    String text(String field, String dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            if (dflt == null) throw fault("missing field '" + name(field) + "'");
            return dflt;
        }
        if (!v.isTextual()) throw fault("field '" + name(field) + "' must be a string, got " + v);
        return v.asText();
    }

    /** A positive integer at most {@code max}; {@code dflt} null: required. */
    int integer(String field, Integer dflt, int max) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            if (dflt == null) throw fault("missing field '" + name(field) + "'");
            return dflt;
        }
        if (!v.isIntegralNumber() || v.asLong() <= 0 || !v.canConvertToInt()) {
            throw fault("field '" + name(field) + "' must be a positive integer, got " + v);
        }
        if (v.asInt() > max) throw fault("field '" + name(field) + "' is " + v + ", larger than any real model's (at most " + max + ")");
        return v.asInt();
    }

    /**
     * A token id: an integer, -1 or absent meaning none. A list of ids (Llama 3's {@code eos_token_id}) gives its
     * first.
     */
    int tokenId(String field, int dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return dflt;
        if (v.isArray()) {
            if (v.isEmpty()) return dflt;
            v = v.get(0);
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < -1) throw fault("field '" + name(field) + "' must be a token id, got " + c.get(field));
        return v.asInt();
    }

    /** A finite non-negative number. */
    double number(String field, double dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || !(v.asDouble() >= 0) || Double.isInfinite(v.asDouble())) throw fault("field '" + name(field) + "' must be a non-negative number, got " + v);
        return v.asDouble();
    }

    /** A finite number strictly above {@code above}. */
    double numberAbove(String field, double dflt, double above) {
        double x = number(field, dflt);
        if (!(x > above)) throw fault("field '" + name(field) + "' is " + c.get(field) + ": it must be larger than " + above);
        return x;
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw fault("field '" + name(field) + "' must be true or false, got " + v);
        return v.asBoolean();
    }

    /** A nested object (null when absent or null); anything else is refused. */
    ConfigJson object(String field) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw fault("field '" + name(field) + "' must be an object, got " + v);
        return new ConfigJson(v, source, name(field) + ".");
    }
}
