package io.peft4j.demo;

import io.peft4j.core.Machine;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A compact Markdown summary of finished demo runs, read back from their {@code results.json}: per run the settings,
 * the machine and the methods' total time, the table of the run's own {@code results.md} ({@link Reports#COLUMNS}), which adaptation methods ({@link #ADAPTATION}) beat the bag-of-words baseline (TF-IDF + LR) on dev macro-F1
 * and which do not, the methods a partial run still lacks, and the chart. {@code docs/results.md}'s demo section is
 * made of these, one per task directory.
 *
 * <pre>{@code
 * String md = DemoSummary.markdown(Path.of("docs/results/demo"), "results/demo/", "docs/generate-results.sh demo %s");
 * }</pre>
 */
public final class DemoSummary {
    /** The adaptation methods (those that train part or all of the model with a head) compared with TF-IDF + LR, in run order. */
    public static final List<String> ADAPTATION = List.of("prompt", "ptuning", "prefix", "adapter", "lora", "ia3", "full");

    private DemoSummary() {
    }

    /**
     * The summaries of every subdirectory of {@code dir} (in name order) that holds a {@code results.json}, as
     * {@code ### <directory>} parts; the empty string when there is none (or {@code dir} does not exist).
     *
     * @param dir        the directory whose subdirectories are demo outputs (one per task)
     * @param linkPrefix how the page the summary goes into reaches {@code dir} (for the chart links), ending in {@code /}
     * @param resume     the command that continues a run, with {@code %s} for the subdirectory's name (said for partial runs)
     */
    public static String markdown(Path dir, String linkPrefix, String resume) {
        if (!Files.isDirectory(dir)) return "";
        List<Path> runs;
        try (Stream<Path> s = Files.list(dir)) {
            runs = s.filter(p -> Files.isRegularFile(p.resolve("results.json"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StringBuilder b = new StringBuilder();
        Map<String, Comparison> behind = new LinkedHashMap<>();
        for (Path run : runs) {
            String name = run.getFileName().toString();
            JsonNode json = Json.read(run.resolve("results.json"));
            String chart = Files.isRegularFile(run.resolve("results.png")) ? linkPrefix + name + "/results.png" : null;
            b.append("### ").append(name).append("\n\n").append(task(json, run.resolve("results.json"), chart, String.format(Locale.ROOT, resume, name)));
            Comparison c = compare(json);
            if (c.baseline() != null) behind.put(name, c);
        }
        if (runs.size() > 1 && !behind.isEmpty()) {
            List<String> parts = new ArrayList<>();
            behind.forEach((task, c) -> parts.add(task + ": " + (c.above().isEmpty() && c.notAbove().isEmpty() ? "no adaptation method run yet"
                    : c.notAbove().isEmpty() ? "none" : String.join(", ", c.notAbove()))));
            b.append("Adaptation methods whose dev macro-F1 is not above TF-IDF + LR's, by task: ").append(String.join("; ", parts)).append(".\n\n");
        }
        return b.toString();
    }

    /**
     * One run's summary from its {@code results.json}: the settings and machine, the table, the comparison with
     * TF-IDF + LR, the methods missing (with {@code resume}, the command that continues the run), the chart link
     * ({@code chart}; none when null). A row that is not one is an error naming {@code source}, the file read.
     */
    public static String task(JsonNode results, Object source, String chart, String resume) {
        StringBuilder b = new StringBuilder();
        JsonNode rows = results.path("rows");
        String settings = results.path("settings_description").asText("");
        double seconds = 0;
        for (JsonNode r : rows) seconds += r.path("seconds").asDouble();
        b.append("`peft demo` on ").append(results.path("task").asText()).append(" with ").append(results.path("model").asText()).append(": ");
        if (!settings.isEmpty()) b.append(settings).append(". ");
        b.append(machineLine(results.path("machine"))).append("; the methods took ").append(Reports.duration(seconds))
                .append(" in all (loading and scoring included).\n\n");
        b.append('|');
        for (String c : Reports.COLUMNS) b.append(' ').append(c).append(" |");
        b.append("\n|---|").append("---:|".repeat(Reports.COLUMNS.size() - 1)).append('\n');
        for (JsonNode r : rows) b.append("| ").append(String.join(" | ", Reports.cells(Row.fromJson(r, source)))).append(" |\n");
        b.append('\n');
        Comparison c = compare(results);
        if (c.baseline() == null) {
            b.append("TF-IDF + LR has no row yet: no comparison with the bag-of-words baseline.\n\n");
        } else if (!c.above().isEmpty() || !c.notAbove().isEmpty()) {
            b.append(String.format(Locale.ROOT, "Adaptation methods with a dev macro-F1 above TF-IDF + LR's (%.4f): %s. Not above it: %s.%n%n", c.baseline(),
                    c.above().isEmpty() ? "none" : String.join(", ", c.above()), c.notAbove().isEmpty() ? "none" : String.join(", ", c.notAbove())));
        }
        List<String> missing = new ArrayList<>();
        for (DemoMethod m : DemoMethods.ALL) if (row(rows, m.name()) == null) missing.add(m.title());
        if (!missing.isEmpty()) {
            b.append("_Partial: no row yet for ").append(String.join(", ", missing)).append("; `").append(resume).append("` continues the run._\n\n");
        }
        if (chart != null) b.append("![").append(results.path("task").asText()).append(": dev accuracy against trainable parameters](").append(chart).append(")\n\n");
        return b.toString();
    }

    /**
     * The adaptation methods present in a run, split by whether their dev macro-F1 is above TF-IDF + LR's (a tie is
     * not); {@code baseline} is TF-IDF + LR's macro-F1, or null when it has no row.
     *
     * @param baseline TF-IDF + LR's dev macro-F1, or null
     * @param above    the titles of the methods above it, in run order
     * @param notAbove the titles of those not above it
     */
    public record Comparison(Double baseline, List<String> above, List<String> notAbove) {
    }

    /** Compares the adaptation methods of a {@code results.json} with its TF-IDF + LR row. */
    public static Comparison compare(JsonNode results) {
        JsonNode rows = results.path("rows"), tfidf = row(rows, "tfidf");
        if (tfidf == null) return new Comparison(null, List.of(), List.of());
        double base = tfidf.path("dev_macro_f1").asDouble();
        List<String> above = new ArrayList<>(), notAbove = new ArrayList<>();
        for (String m : ADAPTATION) {
            JsonNode r = row(rows, m);
            if (r == null) continue;
            (r.path("dev_macro_f1").asDouble() > base ? above : notAbove).add(String.format(Locale.ROOT, "%s (%.4f)", DemoMethods.byName(m).title(),
                    r.path("dev_macro_f1").asDouble()));
        }
        return new Comparison(base, above, notAbove);
    }

    private static JsonNode row(JsonNode rows, String method) {
        for (JsonNode r : rows) if (r.path("method").asText().equals(method)) return r;
        return null;
    }

    private static String machineLine(JsonNode m) {
        if (m == null || !m.isObject()) return "Machine not recorded";
        @SuppressWarnings("unchecked") Map<String, Object> map = Json.MAPPER.convertValue(m, Map.class);
        String line = Machine.line(map);
        return Character.toUpperCase(line.charAt(0)) + line.substring(1);
    }
}
