package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.peft4j.core.PeftException;

import java.nio.file.Path;

/** The project's one JSON mapper and small helpers for reading and atomically writing JSON files. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Reads one value and refuses anything after it (Jackson ignores trailing content by default). */
    private static final ObjectReader STRICT_READER = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {
    }

    /**
     * Parses a JSON file (strict UTF-8, bounded size: {@link TextFiles#read}); a missing, malformed or empty file,
     * or content after the JSON value, is a {@link PeftException} naming it.
     */
    public static JsonNode read(Path file) {
        return parse(file, TextFiles.read(file));
    }

    /** Parses one JSON value from {@code text}; faults name {@code source}. */
    public static JsonNode parse(Object source, String text) {
        try {
            JsonNode n = STRICT_READER.readTree(text);
            if (n == null || n.isMissingNode()) throw PeftException.inFile(source, "empty file: no JSON value");
            return n;
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
            throw PeftException.inFile(source, "malformed JSON" + where + ": " + e.getOriginalMessage());
        }
    }

    /** Writes {@code value} as indented JSON through a temporary file and an atomic rename. */
    public static void write(Path file, Object value) {
        try {
            AtomicFiles.write(file, MAPPER.writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new PeftException(file + ": cannot serialise: " + e.getMessage(), e);
        }
    }
}
