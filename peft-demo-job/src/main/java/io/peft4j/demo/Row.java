package io.peft4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One method's line of the comparison. Saved as {@code rows/<method>.json} in the output directory as soon as the
 * method finishes; {@code key} fingerprints the model, task, data and settings it was made with, so a rerun reuses
 * it only for the same comparison.
 *
 * <pre>{@code
 * Row r = Row.read(Path.of("peft-demo/rows/lora.json"));
 * System.out.printf("%s: %.4f accuracy with %.2f%% of the parameters trained%n", r.method(), r.accuracy(), r.trainablePercent());
 * }</pre>
 *
 * @param method          the method's name ({@link DemoMethod#name()})
 * @param trains          what the method trains, in words
 * @param trainableParams parameters the method trains (a baseline's own parameters; 0 for none)
 * @param allParams       the parameters of the adapted model (base, method and head), or 0 where no model is involved
 * @param accuracy        dev accuracy
 * @param macroF1         dev macro-F1
 * @param trainSeconds    training time (0 where nothing trains)
 * @param seconds         the method's whole time (loading, training, scoring)
 * @param peakRssMb       the peak resident set of the process that ran the method (MB), or null where not measured
 * @param details         method-specific facts (steps, learning rate, chosen layer, ...)
 * @param key             the fingerprint of what the row was made with
 */
public record Row(String method, String trains, long trainableParams, long allParams, double accuracy, double macroF1, double trainSeconds,
                  double seconds, Double peakRssMb, Map<String, Object> details, String key) {
    public Row {
        details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /** Trainable parameters as a percentage of the adapted model's, or NaN where no model is involved. */
    public double trainablePercent() {
        return allParams > 0 ? 100.0 * trainableParams / allParams : Double.NaN;
    }

    /** This row with the peak resident set {@code mb} and fingerprint {@code k}. */
    public Row with(Double mb, String k) {
        return new Row(method, trains, trainableParams, allParams, accuracy, macroF1, trainSeconds, seconds, mb, details, k);
    }

    /** The row as JSON. */
    public Map<String, Object> toJson() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("method", method);
        o.put("trains", trains);
        o.put("trainable_params", trainableParams);
        o.put("all_params", allParams);
        o.put("trainable_percent", Double.isNaN(trainablePercent()) ? null : trainablePercent());
        o.put("dev_accuracy", accuracy);
        o.put("dev_macro_f1", macroF1);
        o.put("training_seconds", trainSeconds);
        o.put("seconds", seconds);
        o.put("peak_rss_mb", peakRssMb);
        o.put("details", details);
        o.put("key", key);
        return o;
    }

    /** Reads a row written by {@link #toJson}; a file that is not one is a {@link PeftException} naming it. */
    public static Row read(Path file) {
        return fromJson(Json.read(file), file);
    }

    /** A row from {@link #toJson}'s object {@code n}; one that is not is a {@link PeftException} naming {@code source}. */
    public static Row fromJson(JsonNode n, Object source) {
        try {
            for (String f : new String[]{"method", "trains", "trainable_params", "all_params", "dev_accuracy", "dev_macro_f1", "training_seconds", "seconds", "key"}) {
                if (n.get(f) == null || n.get(f).isNull()) throw PeftException.inFile(source, "field '" + f + "' is missing");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> details = n.get("details") == null ? Map.of() : Json.MAPPER.convertValue(n.get("details"), Map.class);
            JsonNode rss = n.get("peak_rss_mb");
            return new Row(n.get("method").asText(), n.get("trains").asText(), n.get("trainable_params").asLong(), n.get("all_params").asLong(),
                    n.get("dev_accuracy").asDouble(), n.get("dev_macro_f1").asDouble(), n.get("training_seconds").asDouble(), n.get("seconds").asDouble(),
                    rss == null || rss.isNull() ? null : rss.asDouble(), details, n.get("key").asText());
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(source, "not a demo row: " + e.getMessage());
        }
    }
}
