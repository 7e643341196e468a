package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.Sha256;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runs of a {@link Study} finished so far, one JSON file each in a directory ({@value #STUDY} says which study they
 * belong to: the model, the tasks, the settings and a SHA-256 of the instructions and records), each written atomically
 * once its run is scored.
 */
final class Journal {
    static final String STUDY = "study.json";
    private static final Logger LOG = LoggerFactory.getLogger(Journal.class);

    /**
     * One finished run: its training summary (none for the base model), its scores, and its wall time, training and
     * scoring (null in a journal written before it was recorded).
     */
    record Entry(StudyResult.Run run, List<StudyResult.Score> scores, Double seconds) {
    }

    private final Path dir;

    private Journal(Path dir) {
        this.dir = dir;
    }

    /**
     * The journal in {@code dir} for this study, created when absent; one of another study (model, task list, settings,
     * or the instructions and records its tasks had) is refused. A journal written before the instructions and records
     * were fingerprinted is taken as it is, with a warning, and the fingerprint added.
     */
    static Journal open(Path dir, String model, List<InstructTask> tasks, Map<String, Object> config) {
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("model", model);
        id.put("tasks", tasks.stream().map(InstructTask::name).toList());
        id.put("config", config);
        id.put("inputs", fingerprint(tasks));
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
            if (have instanceof ObjectNode old && !old.has("inputs") && old.size() == 3) {
                old.set("inputs", want.get("inputs"));
                if (old.equals(want)) {
                    LOG.warn("{}: written before the journal fingerprinted the instructions and records; its runs are taken as they are "
                            + "(remove the directory if the instruction files or the data changed since)", f);
                    Json.write(f, id);
                }
            }
            if (!have.equals(want)) {
                List<String> differ = new ArrayList<>();
                for (String k : List.of("model", "tasks", "config", "inputs")) if (!want.get(k).equals(have.get(k))) differ.add(k.equals("inputs") ? "instruction files or data" : k);
                throw PeftException.inFile(f, "the journal belongs to another study (" + (differ.isEmpty() ? "its content" : String.join(", ", differ))
                        + " differ): remove the directory to start afresh, or run with the model, tasks, settings and files it was made with");
            }
        } else {
            Json.write(f, id);
        }
        return new Journal(dir);
    }

    /** SHA-256 over each task's name, cluster, text fields, instructions (id, form, template, label words) and records. */
    static String fingerprint(List<InstructTask> tasks) {
        MessageDigest md = Sha256.digest();
        for (InstructTask t : tasks) {
            Sha256.updateFields(md, t.name(), t.cluster(), String.join(",", t.textFields()));
            for (Instruction i : t.instructions().instructions()) {
                Sha256.updateFields(md, i.id(), i.form().toString(), i.template().text(), i.verbalizer().toJson().toString());
            }
            for (List<TextRecord> split : List.of(t.train(), t.dev())) {
                Sha256.updateFields(md, "split", Integer.toString(split.size()));
                for (TextRecord r : split) {
                    Sha256.updateFields(md, r.label());
                    r.fields().forEach((k, v) -> Sha256.updateFields(md, k, v));
                }
            }
        }
        return Sha256.hex(md);
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
            return new Entry(run, scores, n.path("seconds").isNumber() ? n.get("seconds").asDouble() : null);
        } catch (IOException | IllegalArgumentException e) {
            throw PeftException.inFile(f, "not a study run as the journal writes one: " + e.getMessage());
        }
    }

    void write(String unit, String heldOut, Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", e.run());
        m.put("scores", e.scores());
        if (e.seconds() != null) m.put("seconds", e.seconds());
        Json.write(file(unit, heldOut), m);
    }

    private Path file(String unit, String heldOut) {
        return dir.resolve(unit + (heldOut == null ? "" : "--" + heldOut) + ".json");
    }
}
