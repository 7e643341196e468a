package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads instruction files: one JSON file per task,
 *
 * <pre>
 * {"task": "spam", "cluster": "spam",
 *  "label_words": {"ham": ["no"], "spam": ["yes"]},
 *  "instructions": [
 *    {"form": "sentence", "template": "Is the following e-mail spam? Answer yes or no. Subject: {text}. {text_b} Answer: {mask}."},
 *    {"form": "name", "template": "spam detection: {text}. {text_b} {mask}", "label_words": {"ham": ["normal"], "spam": ["junk"]}},
 *    {"form": "paragraph", "template": "..."}]}
 * </pre>
 *
 * {@code cluster} is optional (default: the task); {@code label_words} (label to a word or a list of words) are the
 * task's labels and the words of every instruction without its own {@code label_words}, which must name the same
 * labels. Every template needs the answer slot {@code {mask}} and an input slot. Faults are one {@link PeftException}
 * naming the file and the field ({@code spam.json: field 'instructions[1].template': ...}). The six built-in tasks' files
 * are resources of this module ({@link #builtin}).
 *
 * <pre>{@code
 * InstructionSet mine = Instructions.read(Path.of("reviews.json"));
 * InstructionSet spam = Instructions.builtin("spam");
 * }</pre>
 */
public final class Instructions {
    private static final String RESOURCES = "/io/peft4j/instruct/instructions/";
    private static final Set<String> TOP_FIELDS = Set.of("task", "cluster", "label_words", "instructions");
    private static final Set<String> INSTRUCTION_FIELDS = Set.of("form", "template", "label_words");

    private Instructions() {
    }

    /** Reads an instruction file; faults name the file and the field. */
    public static InstructionSet read(Path file) {
        return parse(Json.read(file), file);
    }

    /**
     * Every {@code *.json} file in {@code dir}, by task (sorted by file name); two files for one task are an error
     * naming both.
     */
    public static Map<String, InstructionSet> readDirectory(Path dir) {
        if (!Files.isDirectory(dir)) throw PeftException.inFile(dir, "not a directory of instruction files");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".json") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw PeftException.inFile(dir, "cannot list: " + e.getMessage());
        }
        if (files.isEmpty()) throw PeftException.inFile(dir, "no instruction files (*.json)");
        Map<String, InstructionSet> out = new LinkedHashMap<>();
        for (Path f : files) {
            InstructionSet set = read(f);
            InstructionSet before = out.put(set.task(), set);
            if (before != null) throw PeftException.inFile(f, "task '" + set.task() + "' already has instructions in " + before.source());
        }
        return out;
    }

    /** The tasks with built-in instructions, in the order of the module's index. */
    public static List<String> builtinTasks() {
        JsonNode index = Json.parse("built-in instructions/index.json", resource("index.json"));
        List<String> out = new ArrayList<>();
        for (JsonNode t : index.path("tasks")) out.add(t.asText());
        return out;
    }

    /** The built-in instructions of {@code task}; an unknown task is an error listing the known ones. */
    public static InstructionSet builtin(String task) {
        List<String> known = builtinTasks();
        if (!known.contains(task)) throw new PeftException("no built-in instructions for task '" + task + "' (tasks: " + String.join(", ", known) + ")");
        String name = "built-in instructions/" + task + ".json";
        return parse(Json.parse(name, resource(task + ".json")), name);
    }

    private static String resource(String name) {
        try (InputStream in = Instructions.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCES + name + " is missing from peft-instruct");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses an instruction file's JSON; {@code source} names it in messages. */
    public static InstructionSet parse(JsonNode json, Object source) {
        if (json == null || !json.isObject()) throw PeftException.inFile(source, "not a JSON object");
        unknownFields(json, TOP_FIELDS, "", source);
        String task = text(json, "task", "task", source, true);
        String cluster = json.has("cluster") ? text(json, "cluster", "cluster", source, true) : task;
        JsonNode lw = json.get("label_words");
        if (lw == null) throw PeftException.inFile(source, "field 'label_words' is missing (the task's labels and their words)");
        Map<String, List<String>> taskWords = words(lw, "label_words", source);
        Verbalizer taskVerbalizer = verbalizer(taskWords, "label_words", source);
        JsonNode list = json.get("instructions");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw PeftException.inFile(source, "field 'instructions' " + (list == null ? "is missing" : list.isArray() ? "is empty" : "must be a list of instructions, not " + brief(list)));
        }
        Map<Form, Integer> counts = new TreeMap<>();
        List<Instruction> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "instructions[" + i + "]";
            JsonNode n = list.get(i);
            if (!n.isObject()) throw PeftException.inFile(source, "field '" + at + "' must be an object with 'form' and 'template', not " + brief(n));
            unknownFields(n, INSTRUCTION_FIELDS, at + ".", source);
            String formKey = text(n, "form", at + ".form", source, true);
            Form form = Form.parse(formKey);
            if (form == null) throw PeftException.inFile(source, "field '" + at + ".form' is '" + formKey + "', not sentence, name or paragraph");
            String text = text(n, "template", at + ".template", source, true);
            Template template;
            try {
                template = Template.parse(text);
            } catch (PeftException e) {
                throw PeftException.inFile(source, "field '" + at + ".template': " + e.getMessage());
            }
            if (!template.hasMask()) {
                throw PeftException.inFile(source, "field '" + at + ".template': template '" + text + "' lacks the answer slot {mask}");
            }
            if (template.hasSoftTokens()) {
                throw PeftException.inFile(source, "field '" + at + ".template': an instruction is text; {soft} slots are not allowed");
            }
            Verbalizer v = taskVerbalizer;
            if (n.has("label_words")) {
                Map<String, List<String>> own = words(n.get("label_words"), at + ".label_words", source);
                for (String l : own.keySet()) {
                    if (!taskWords.containsKey(l)) {
                        throw PeftException.inFile(source, "field '" + at + ".label_words' names label '" + l + "', which is not one of the task's labels "
                                + taskWords.keySet() + " (field 'label_words')");
                    }
                }
                for (String l : taskWords.keySet()) {
                    if (!own.containsKey(l)) throw PeftException.inFile(source, "field '" + at + ".label_words' has no words for the task's label '" + l + "'");
                }
                v = verbalizer(own, at + ".label_words", source);
            }
            int k = counts.merge(form, 1, Integer::sum);
            out.add(new Instruction(task + "/" + form.key() + "-" + k, task, form, template.withSource(source + ": " + at), v, source + ": " + at));
        }
        return new InstructionSet(task, cluster, new ArrayList<>(taskWords.keySet()), out, source);
    }

    private static Map<String, List<String>> words(JsonNode n, String field, Object source) {
        if (!n.isObject() || n.isEmpty()) {
            throw PeftException.inFile(source, "field '" + field + "' must be an object of label -> word or [words], not " + brief(n));
        }
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            List<String> ws = new ArrayList<>();
            JsonNode v = e.getValue();
            if (v.isTextual()) {
                ws.add(v.asText());
            } else if (v.isArray()) {
                for (JsonNode w : v) {
                    if (!w.isTextual()) throw PeftException.inFile(source, "field '" + field + "." + e.getKey() + "' must list words (strings), not " + brief(w));
                    ws.add(w.asText());
                }
            } else {
                throw PeftException.inFile(source, "field '" + field + "." + e.getKey() + "' must be a word or a list of words, not " + brief(v));
            }
            m.put(e.getKey(), ws);
        }
        return m;
    }

    private static Verbalizer verbalizer(Map<String, List<String>> words, String field, Object source) {
        try {
            return Verbalizer.of(words);
        } catch (PeftException e) {
            throw PeftException.inFile(source, "field '" + field + "': " + e.getMessage());
        }
    }

    private static String text(JsonNode n, String key, String field, Object source, boolean required) {
        JsonNode v = n.get(key);
        if (v == null) {
            if (required) throw PeftException.inFile(source, "field '" + field + "' is missing");
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) throw PeftException.inFile(source, "field '" + field + "' must be a non-empty string, not " + brief(v));
        return v.asText();
    }

    private static void unknownFields(JsonNode n, Set<String> known, String prefix, Object source) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) throw PeftException.inFile(source, "unknown field '" + prefix + f + "' (fields: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
        }
    }

    private static String brief(JsonNode n) {
        String s = n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
