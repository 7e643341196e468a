package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.peft4j.core.PeftException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The project's one JSON mapper and small helpers for reading and atomically writing JSON files. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /** Parses a JSON file; a missing or malformed file is a {@link PeftException} naming it. */
    public static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(file, "file not found");
        } catch (JsonProcessingException e) {
            throw PeftException.inFile(file, "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw PeftException.inFile(file, "cannot read: " + e.getMessage());
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
