package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;

/**
 * The real Llama-family tokenizers of the test resources ({@code tokenizers/<name>/}, see PROVENANCE.md there): the
 * {@code tokenizer.json} is stored gzipped and unpacked once per JVM into a temporary model directory beside its
 * {@code tokenizer_config.json}, so tests load it through the ordinary file path.
 */
public final class RealTokenizers {
    public static final List<String> NAMES = List.of("mistral-sp", "llama3", "qwen3");
    private static final Map<String, Path> DIRS = new ConcurrentHashMap<>();

    private RealTokenizers() {
    }

    /** A model directory holding {@code tokenizer.json} and {@code tokenizer_config.json} of tokenizer {@code name}. */
    public static synchronized Path dir(String name) {
        return DIRS.computeIfAbsent(name, n -> {
            try {
                Path src = Fixtures.resource("tokenizers/" + n);
                Path d = Files.createTempDirectory("peft4j-tok-" + n);
                d.toFile().deleteOnExit();
                try (InputStream in = new GZIPInputStream(Files.newInputStream(src.resolve("tokenizer.json.gz")))) {
                    Files.copy(in, d.resolve("tokenizer.json"));
                }
                Files.copy(src.resolve("tokenizer_config.json"), d.resolve("tokenizer_config.json"));
                d.resolve("tokenizer.json").toFile().deleteOnExit();
                d.resolve("tokenizer_config.json").toFile().deleteOnExit();
                return d;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The lines of a JSON-lines reference file of tokenizer {@code name}. */
    public static List<JsonNode> reference(String name, String file) {
        try {
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(Fixtures.resource("tokenizers/" + name + "/" + file))) {
                if (!line.isBlank()) out.add(Json.parse(file, line));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
