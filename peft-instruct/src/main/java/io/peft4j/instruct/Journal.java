package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runs of a {@link Study} finished so far, one JSON file each in a directory ({@value #STUDY} says which study they
 * belong to), each written atomically once its run is scored.
 */
final class Journal {
    static final String STUDY = "study.json";

    /** One finished run: its training summary (none for the base model) and its scores. */
    record Entry(StudyResult.Run run, List<StudyResult.Score> scores) {
    }

    private final Path dir;

    private Journal(Path dir) {
        this.dir = dir;
    }

    /** The journal in {@code dir} for this study, created when absent; one of another study is refused. */
    static Journal open(Path dir, String model, List<String> tasks, Map<String, Object> config) {
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("model", model);
        id.put("tasks", tasks);
        id.put("config", config);
        Path f = dir.resolve(STUDY);
        JsonNode want;
        try {
            want = Json.parse(f, Json.MAPPER.writeValueAsString(id));         // as the file holds it, number types included
        } catch (IOException e) {
            throw new PeftException("cannot describe the study for its journal: " + e.getMessage(), e);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw PeftException.inFile(dir, "cannot create the study's journal directory: " + e.getMessage());
        }
        if (Files.isRegularFile(f)) {
            JsonNode have = Json.read(f);
            if (!have.equals(want)) {
                throw PeftException.inFile(f, "the journal belongs to another study (model, tasks or settings differ): remove the directory to start "
                        + "afresh, or run with the settings it records");
            }
        } else {
            Json.write(f, id);
        }
        return new Journal(dir);
    }

    /** The recorded run {@code unit} with {@code heldOut} held out, or null. */
    Entry read(String unit, String heldOut) {
        Path f = file(unit, heldOut);
        if (!Files.isRegularFile(f)) return null;
        JsonNode n = Json.read(f);
        try {
            StudyResult.Run run = n.path("run").isNull() || n.path("run").isMissingNode() ? null : Json.MAPPER.treeToValue(n.get("run"), StudyResult.Run.class);
            List<StudyResult.Score> scores = new ArrayList<>();
            for (JsonNode s : n.path("scores")) scores.add(Json.MAPPER.treeToValue(s, StudyResult.Score.class));
            return new Entry(run, scores);
        } catch (IOException | IllegalArgumentException e) {
            throw PeftException.inFile(f, "not a study run as the journal writes one: " + e.getMessage());
        }
    }

    void write(String unit, String heldOut, Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", e.run());
        m.put("scores", e.scores());
        Json.write(file(unit, heldOut), m);
    }

    private Path file(String unit, String heldOut) {
        return dir.resolve(unit + (heldOut == null ? "" : "--" + heldOut) + ".json");
    }
}
