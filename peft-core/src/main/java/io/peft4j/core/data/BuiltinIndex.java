package io.peft4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The built-in datasets found on a class loader: {@value #INDEX} lists them, and
 * {@code io/peft4j/datasets/<name>/{train,dev}.jsonl} hold their splits.
 */
final class BuiltinIndex {
    static final String ROOT = "io/peft4j/datasets/";
    static final String INDEX = ROOT + "index.json";
    static final String MISSING = "built-in datasets need the peft-datasets module on the class path";

    private final ClassLoader loader;
    private final Map<String, BuiltinDataset> datasets;   // null: no index on the class path

    private BuiltinIndex(ClassLoader loader, Map<String, BuiltinDataset> datasets) {
        this.loader = loader;
        this.datasets = datasets;
    }

    static BuiltinIndex load(ClassLoader loader) {
        try (InputStream in = loader.getResourceAsStream(INDEX)) {
            if (in == null) return new BuiltinIndex(loader, null);
            JsonNode root = Json.MAPPER.readTree(in);
            Map<String, BuiltinDataset> m = new TreeMap<>();
            for (JsonNode d : root.path("datasets")) {
                List<String> fields = new ArrayList<>(), labels = new ArrayList<>();
                d.path("text_fields").forEach(f -> fields.add(f.asText()));
                d.path("labels").forEach(l -> labels.add(l.asText()));
                DataSpec spec = DataSpec.defaults().withTextFields(fields.toArray(String[]::new)).withLabelField(d.path("label_field").asText("label"));
                String name = d.path("name").asText();
                m.put(name, new BuiltinDataset(name, d.path("description").asText(), spec, labels.stream().sorted().toList(), d.path("licence").asText()));
            }
            if (m.isEmpty()) throw PeftException.inFile(INDEX, "lists no datasets");
            return new BuiltinIndex(loader, Collections.unmodifiableMap(m));
        } catch (IOException | IllegalArgumentException e) {
            throw PeftException.inFile(INDEX, "malformed built-in dataset index: " + e.getMessage());
        }
    }

    boolean present() {
        return datasets != null;
    }

    /** The names, sorted; empty without the module. */
    List<String> names() {
        return datasets == null ? List.of() : List.copyOf(datasets.keySet());
    }

    /** The dataset called {@code name}, or null. */
    BuiltinDataset find(String name) {
        return datasets == null ? null : datasets.get(name);
    }

    BuiltinDataset require(String name) {
        if (datasets == null) throw new PeftException(name + ": " + MISSING);
        BuiltinDataset d = datasets.get(name);
        if (d == null) throw new PeftException(name + ": not a built-in dataset (" + String.join(", ", datasets.keySet()) + ")");
        return d;
    }

    Source source(String name, Split split) {
        require(name);
        String resource = ROOT + name + "/" + split.fileName();
        return new Source("built-in " + name + "/" + split.fileName(), () -> {
            InputStream in = loader.getResourceAsStream(resource);
            if (in == null) throw new IOException("resource " + resource + " is missing from the class path");
            return in;
        });
    }
}
