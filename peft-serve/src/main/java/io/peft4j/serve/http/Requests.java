package io.peft4j.serve.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.peft4j.serve.InferenceService.GenerationParams;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The request bodies, parsed and checked field by field: every fault is a 400 that names the field. Unknown fields are
 * refused too (a misspelt {@code max_new_tokens} should not be ignored silently).
 */
final class Requests {
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** Adapter names: what a path segment, a log line and a metric can carry without escaping. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    static final int MAX_TOP_K = 1000;
    static final int MAX_NEW_TOKENS = 100_000;

    record Classify(String adapter, List<Map<String, String>> inputs) {
    }

    record FillMask(String adapter, List<String> inputs, int topK) {
    }

    record Generate(String adapter, List<String> inputs, GenerationParams params) {
    }

    record Load(String dir) {
    }

    private Requests() {
    }

    /** The body as one JSON object. */
    static JsonNode object(byte[] body) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiError.invalidJson("the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.invalidJson("the body cannot be read as JSON");
        }
        if (n == null || n.isMissingNode()) throw ApiError.invalidJson("the body is empty; expected a JSON object");
        if (!n.isObject()) throw ApiError.invalidJson("the body must be a JSON object, not " + kind(n));
        return n;
    }

    static Classify classify(JsonNode o) {
        allowOnly(o, Set.of("adapter", "inputs"));
        String adapter = adapter(o, true);
        JsonNode inputs = inputs(o);
        List<Map<String, String>> rows = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            JsonNode in = inputs.get(i);
            if (in.isTextual()) {
                rows.add(Map.of(InferenceServer.SINGLE_TEXT_FIELD, in.textValue()));
            } else if (in.isObject()) {
                if (in.isEmpty()) throw ApiError.invalidRequest("inputs[" + i + "] is an empty object; expected the classifier's text fields");
                Map<String, String> fields = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = in.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> f = it.next();
                    if (!f.getValue().isTextual()) {
                        throw ApiError.invalidRequest("inputs[" + i + "]." + f.getKey() + " must be a string, not " + kind(f.getValue()));
                    }
                    fields.put(f.getKey(), f.getValue().textValue());
                }
                rows.add(fields);
            } else {
                throw ApiError.invalidRequest("inputs[" + i + "] must be a string or an object of text fields, not " + kind(in));
            }
        }
        return new Classify(adapter, rows);
    }

    static FillMask fillMask(JsonNode o) {
        allowOnly(o, Set.of("adapter", "inputs", "top_k"));
        int topK = integer(o, "top_k", 5, 1, MAX_TOP_K);
        return new FillMask(adapter(o, false), texts(o), topK);
    }

    static Generate generate(JsonNode o) {
        allowOnly(o, Set.of("adapter", "inputs", "max_new_tokens", "temperature", "seed", "stop"));
        int maxNew = integer(o, "max_new_tokens", 64, 1, MAX_NEW_TOKENS);
        double temperature = 0;
        JsonNode t = o.get("temperature");
        if (t != null && !t.isNull()) {
            if (!t.isNumber()) throw ApiError.invalidRequest("'temperature' must be a number, not " + kind(t));
            temperature = t.doubleValue();
            if (!(temperature >= 0) || Double.isInfinite(temperature)) throw ApiError.invalidRequest("'temperature' must be 0 (greedy) or positive, not " + t);
        }
        long seed = 0;
        JsonNode s = o.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiError.invalidRequest("'seed' must be an integer (64-bit), not " + kind(s));
            seed = s.longValue();
        }
        List<String> stop = List.of();
        JsonNode st = o.get("stop");
        if (st != null && !st.isNull()) {
            if (!st.isArray()) throw ApiError.invalidRequest("'stop' must be an array of strings, not " + kind(st));
            stop = new ArrayList<>();
            for (int i = 0; i < st.size(); i++) {
                if (!st.get(i).isTextual() || st.get(i).textValue().isEmpty()) throw ApiError.invalidRequest("stop[" + i + "] must be a non-empty string");
                stop.add(st.get(i).textValue());
            }
        }
        return new Generate(adapter(o, false), texts(o), new GenerationParams(maxNew, temperature, seed, List.copyOf(stop)));
    }

    static Load load(JsonNode o) {
        allowOnly(o, Set.of("dir"));
        JsonNode d = o.get("dir");
        if (d == null || d.isNull()) throw ApiError.invalidRequest("missing field 'dir' (a directory relative to the adapters root)");
        if (!d.isTextual()) throw ApiError.invalidRequest("'dir' must be a string, not " + kind(d));
        return new Load(d.textValue());
    }

    /** An adapter name from a path or a body. */
    static String name(String name, String where) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ApiError.invalidRequest(where + " must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }

    private static String adapter(JsonNode o, boolean required) {
        JsonNode a = o.get("adapter");
        if (a == null || a.isNull()) {
            if (required) throw ApiError.invalidRequest("missing field 'adapter'");
            return null;
        }
        if (!a.isTextual()) throw ApiError.invalidRequest("'adapter' must be a string" + (required ? "" : " or null") + ", not " + kind(a));
        return name(a.textValue(), "'adapter'");
    }

    private static JsonNode inputs(JsonNode o) {
        JsonNode in = o.get("inputs");
        if (in == null || in.isNull()) throw ApiError.invalidRequest("missing field 'inputs'");
        if (!in.isArray()) throw ApiError.invalidRequest("'inputs' must be an array, not " + kind(in));
        if (in.isEmpty()) throw ApiError.invalidRequest("'inputs' is empty");
        return in;
    }

    private static List<String> texts(JsonNode o) {
        JsonNode in = inputs(o);
        List<String> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) {
            if (!in.get(i).isTextual()) throw ApiError.invalidRequest("inputs[" + i + "] must be a string, not " + kind(in.get(i)));
            out.add(in.get(i).textValue());
        }
        return out;
    }

    private static int integer(JsonNode o, String field, int dflt, int min, int max) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw ApiError.invalidRequest("'" + field + "' must be an integer, not " + kind(n));
        int v = n.intValue();
        if (v < min || v > max) throw ApiError.invalidRequest("'" + field + "' must be between " + min + " and " + max + ", not " + v);
        return v;
    }

    private static void allowOnly(JsonNode o, Set<String> fields) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                throw ApiError.invalidRequest("unknown field '" + shorten(f) + "'; expected " + String.join(", ", new java.util.TreeSet<>(fields)));
            }
        }
    }

    private static String shorten(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    /** A JSON value's kind, for messages ("a number", "an object"). */
    static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL, MISSING -> "null";
            case BINARY -> "binary";
        };
    }
}
