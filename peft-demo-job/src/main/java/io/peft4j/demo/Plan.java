package io.peft4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.io.Json;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a method's result depends on besides the method: the model, the task and the settings. A forked method
 * run reads it from a file ({@link #write}, {@link #read}); its JSON, with the data's fingerprint, keys the saved rows.
 *
 * <pre>{@code
 * Plan plan = new Plan("bert-base-uncased", DemoTask.builtin("spam"), settings);
 * plan.write(Path.of("peft-demo/plan.json"));
 * Plan again = Plan.read(Path.of("peft-demo/plan.json"));     // equal to plan
 * }</pre>
 *
 * @param model    the model's name or directory
 * @param task     the data and zero-shot prompt
 * @param settings the data cut and training budget
 */
public record Plan(String model, DemoTask task, DemoSettings settings) {
    /** The plan as JSON. */
    public Map<String, Object> toJson() {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", task.name());
        t.put("train", task.train());
        t.put("dev", task.dev());
        t.put("text_fields", task.textFields());
        t.put("label_field", task.labelField());
        t.put("template", task.template());
        t.put("verbalizer", task.verbalizer());
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("full", settings.full());
        s.put("max_length", settings.maxLength());
        s.put("truncation", settings.truncation().name());
        s.put("train_examples", settings.trainExamples());
        s.put("balanced", settings.balanced());
        s.put("dev_examples", settings.devExamples());
        s.put("batch_size", settings.batchSize());
        s.put("steps", settings.steps());
        s.put("epochs", settings.epochs());
        s.put("warmup_fraction", settings.warmupFraction());
        s.put("virtual_tokens", settings.virtualTokens());
        s.put("tfidf_features", settings.tfidfFeatures());
        s.put("learning_rates", settings.learningRates());
        s.put("seed", settings.seed());
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model);
        o.put("task", t);
        o.put("settings", s);
        return o;
    }

    /** Writes the plan (atomically). */
    public void write(Path file) {
        Json.write(file, toJson());
    }

    /** Reads a plan written by {@link #write}. */
    public static Plan read(Path file) {
        JsonNode n = Json.read(file);
        try {
            JsonNode t = n.get("task"), s = n.get("settings");
            DemoTask task = new DemoTask(t.get("name").asText(), t.get("train").asText(), t.get("dev").asText(),
                    Json.MAPPER.convertValue(t.get("text_fields"), List.class), t.get("label_field").asText(), text(t.get("template")), text(t.get("verbalizer")));
            Map<String, Double> lrs = new LinkedHashMap<>();
            s.get("learning_rates").fields().forEachRemaining(e -> lrs.put(e.getKey(), e.getValue().asDouble()));
            DemoSettings settings = new DemoSettings(s.get("full").asBoolean(), s.get("max_length").asInt(), Truncation.valueOf(s.get("truncation").asText()),
                    s.get("train_examples").asInt(), s.get("balanced").asBoolean(), s.get("dev_examples").asInt(), s.get("batch_size").asInt(),
                    s.get("steps").asLong(), s.get("epochs").asInt(), s.get("warmup_fraction").asDouble(), s.get("virtual_tokens").asInt(),
                    s.get("tfidf_features").asInt(), lrs, s.get("seed").asLong());
            return new Plan(n.get("model").asText(), task, settings);
        } catch (NullPointerException | IllegalArgumentException e) {
            throw PeftException.inFile(file, "not a demo plan: " + e);
        }
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }
}
