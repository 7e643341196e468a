package io.peft4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** The summary of demo runs that docs/results.md shows, on a partial run of the demo on the tiny BERT fixture. */
class DemoSummaryTest {
    private static final List<String> ADAPTATION = List.of("prompt", "ptuning", "prefix", "adapter", "lora", "ia3", "full");
    private static final String RESUME = "docs/generate-results.sh demo %s";

    @Test
    void aTableRowPerMethodTheComparisonWithTfIdfTheMissingMethodsAndTheChart(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp), demo = tmp.resolve("demo"), out = demo.resolve("tiny");
        assertThat(DemoSummary.markdown(demo, "results/demo/", RESUME)).isEmpty();                 // nothing run yet
        Demo.Outcome o = Demo.run(DemoTest.config(model, TinyTask.task(tmp), out, DemoMethods.parse("majority,tfidf,zero-shot,prompt,lora,full"), false, 42),
                new DemoTest.Counting(), new Demo.Listener() { });
        assertThat(o.failed()).isEmpty();
        JsonNode json = Json.read(out.resolve("results.json"));

        String md = DemoSummary.markdown(demo, "results/demo/", RESUME);
        assertThat(md).startsWith("### tiny\n\n");
        assertThat(md).contains("| method | trainable params | trainable % | dev accuracy | macro-F1 | training time | peak memory |");
        JsonNode m = json.get("machine");
        assertThat(md).contains(m.get("cpu").asText() + ", " + m.get("cores").asInt() + " cores, Java " + m.get("java").asText() + ", " + m.get("date").asText());
        assertThat(m.get("date").asText()).matches("\\d{4}-\\d{2}-\\d{2}");
        List<String> methods = new ArrayList<>();
        for (JsonNode r : json.get("rows")) {
            methods.add(r.get("method").asText());
            assertThat(md).contains(expectedRow(r));
        }
        assertThat(methods).containsExactly("majority", "tfidf", "zero-shot", "prompt", "lora", "full");
        assertThat(md).contains(expectedSentence(json));
        assertThat(md).contains("_Partial: no row yet for linear probe, P-tuning, prefix tuning, adapter (Pfeiffer), IA3; "
                + "`docs/generate-results.sh demo tiny` continues the run._");
        assertThat(md).contains("![" + json.get("task").asText() + ": dev accuracy against trainable parameters](results/demo/tiny/results.png)");

        // a second run (numbers edited) whose TF-IDF macro-F1 ties the weakest adaptation method, and prompt tuning above it: the tie
        // does not beat it, prompt tuning does; no chart there
        ObjectNode tweaked = json.deepCopy();
        double weakest = 2;
        for (JsonNode r : tweaked.get("rows")) if (ADAPTATION.contains(r.get("method").asText())) weakest = Math.min(weakest, r.get("dev_macro_f1").asDouble());
        for (JsonNode r : tweaked.get("rows")) {
            if (r.get("method").asText().equals("tfidf")) ((ObjectNode) r).put("dev_macro_f1", weakest);
            if (r.get("method").asText().equals("prompt")) ((ObjectNode) r).put("dev_macro_f1", weakest + 0.125);
        }
        Files.createDirectories(demo.resolve("tweaked"));
        Json.write(demo.resolve("tweaked/results.json"), tweaked);
        md = DemoSummary.markdown(demo, "results/demo/", RESUME);
        assertThat(md.indexOf("### tiny")).isLessThan(md.indexOf("### tweaked"));
        String second = md.substring(md.indexOf("### tweaked"));
        String sentence = expectedSentence(tweaked);
        assertThat(second).contains(sentence).doesNotContain("results/demo/tweaked/results.png");
        assertThat(sentence).contains(String.format(Locale.ROOT, "(%.4f): prompt tuning (%.4f)", weakest, weakest + 0.125))
                .doesNotContain("Not above it: none.").doesNotContain("): none.");
        assertThat(md).contains("Adaptation methods whose dev macro-F1 is not above TF-IDF + LR's, by task: tiny: ");

        // a third run with the baselines only: said to have no adaptation method yet, not to have none behind TF-IDF + LR
        ObjectNode baselines = json.deepCopy();
        var kept = baselines.arrayNode();
        for (JsonNode r : json.get("rows")) if (!ADAPTATION.contains(r.get("method").asText())) kept.add(r);
        baselines.set("rows", kept);
        Files.createDirectories(demo.resolve("zbaselines"));
        Json.write(demo.resolve("zbaselines/results.json"), baselines);
        md = DemoSummary.markdown(demo, "results/demo/", RESUME);
        assertThat(md.substring(md.indexOf("### zbaselines"))).doesNotContain("Adaptation methods with a dev macro-F1 above");
        assertThat(md).contains("; zbaselines: no adaptation method run yet.");
    }

    /** The table's line for a row, formatted here from the JSON's numbers. */
    private static String expectedRow(JsonNode r) {
        JsonNode pct = r.get("trainable_percent"), rss = r.get("peak_rss_mb");
        String p;
        if (pct == null || pct.isNull()) p = "-";
        else if (pct.asDouble() == 0) p = "0%";
        else if (pct.asDouble() >= 10) p = String.format(Locale.ROOT, "%.0f%%", pct.asDouble());
        else if (pct.asDouble() >= 0.1) p = String.format(Locale.ROOT, "%.2f%%", pct.asDouble());
        else p = String.format(Locale.ROOT, "%.2g%%", pct.asDouble());
        double t = r.get("training_seconds").asDouble();
        assertThat(t).isLessThan(60);
        return String.format(Locale.ROOT, "| %s | %,d | %s | %.4f | %.4f | %s | %s |", DemoMethods.byName(r.get("method").asText()).title(),
                r.get("trainable_params").asLong(), p,
                r.get("dev_accuracy").asDouble(), r.get("dev_macro_f1").asDouble(), t > 0 ? String.format(Locale.ROOT, "%.1f s", t) : "-",
                rss == null || rss.isNull() ? "n/a" : String.format(Locale.ROOT, "%,.0f MB", rss.asDouble()));
    }

    /** Which adaptation methods' dev macro-F1 is strictly above TF-IDF + LR's, worked out here from the JSON. */
    private static String expectedSentence(JsonNode json) {
        double base = Double.NaN;
        for (JsonNode r : json.get("rows")) if (r.get("method").asText().equals("tfidf")) base = r.get("dev_macro_f1").asDouble();
        List<String> above = new ArrayList<>(), not = new ArrayList<>();
        for (JsonNode r : json.get("rows")) {
            if (!ADAPTATION.contains(r.get("method").asText())) continue;
            double f1 = r.get("dev_macro_f1").asDouble();
            (f1 > base ? above : not).add(String.format(Locale.ROOT, "%s (%.4f)", DemoMethods.byName(r.get("method").asText()).title(), f1));
        }
        assertThat(above.size() + not.size()).isEqualTo(3);
        return String.format(Locale.ROOT, "Adaptation methods with a dev macro-F1 above TF-IDF + LR's (%.4f): %s. Not above it: %s.", base,
                above.isEmpty() ? "none" : String.join(", ", above), not.isEmpty() ? "none" : String.join(", ", not));
    }
}
