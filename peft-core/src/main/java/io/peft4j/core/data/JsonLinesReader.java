package io.peft4j.core.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads JSON lines: one object per line, blank lines skipped. */
final class JsonLinesReader {
    private JsonLinesReader() {
    }

    static List<TextRecord> read(Source src, DataSpec spec) {
        RecordMaker maker = new RecordMaker(spec, src.name());
        List<TextRecord> out = new ArrayList<>();
        try (Utf8Lines lines = new Utf8Lines(src.open(), src.name())) {
            String line;
            while (out.size() < spec.limit() && (line = lines.next()) != null) {
                if (line.isBlank()) continue;
                long n = lines.lineNumber();
                out.add(record(line, n, maker));
            }
        } catch (IOException e) {
            throw PeftException.inFile(src.name(), "cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) throw PeftException.inFile(src.name(), "no examples");
        return out;
    }

    /** One line's record; faults name the source and line. */
    static TextRecord record(String line, long n, RecordMaker maker) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> nonText = new LinkedHashMap<>();
        parse(line, values, nonText, maker, "line " + n);
        return maker.make(values, nonText, n, "line " + n);
    }

    /** Parses one line's object: scalars into {@code values} (numbers as written), the kind of every non-string into {@code nonText}. */
    private static void parse(String line, Map<String, String> values, Map<String, String> nonText, RecordMaker maker, String where) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(line)) {
            p.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                String hint = t == JsonToken.START_ARRAY ? "; the file must hold one JSON object per line, not an array" : "";
                throw maker.fault(where, "not a JSON object (" + kind(t) + ")" + hint);
            }
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                t = p.nextToken();
                switch (t) {
                    case VALUE_STRING -> values.put(name, p.getText());
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE -> {
                        values.put(name, p.getText());
                        nonText.put(name, kind(t));
                    }
                    case VALUE_NULL -> nonText.put(name, kind(t));
                    case START_OBJECT, START_ARRAY -> {
                        nonText.put(name, kind(t));
                        p.skipChildren();
                    }
                    default -> throw maker.fault(where, "not JSON (unexpected " + t + ")");
                }
            }
            if (p.nextToken() != null) throw maker.fault(where, "not JSON (more after the object's closing brace)");
        } catch (JsonProcessingException e) {
            String why = e.getOriginalMessage().lines().findFirst().orElse("").replaceAll("\\s*\\(start marker at .*", "");
            throw maker.fault(where, "not JSON (" + why + ")");
        } catch (IOException e) {
            throw maker.fault(where, "not JSON (" + e.getMessage() + ")");
        }
    }

    private static String kind(JsonToken t) {
        if (t == null) return "nothing";
        return switch (t) {
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            default -> t.toString();
        };
    }
}
