package io.peft4j.benchmarks.results;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/results.md from what docs/results/ holds: each section not run says so and names the command that runs it. */
class RenderTest {
    @Test
    void sectionsNotRunSayHowToRunThem(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("results")), md = tmp.resolve("results.md");
        Render.write(dir, md);
        String text = Files.readString(md);
        assertThat(text).startsWith("# Results on real data\n");
        for (String section : new String[]{"demo", "zero-shot", "few-shot", "probes", "instruct"}) {
            assertThat(text).contains("_Not run yet: `docs/generate-results.sh " + section + "`._");
        }
        assertThat(text).doesNotContain("default budget");

        // a study under way: its journal's runs are counted, study.json is not a run
        Path runs = Files.createDirectories(dir.resolve("instruct-runs"));
        for (String f : new String[]{"study.json", "base.json", "supervised-spam--spam.json"}) Files.writeString(runs.resolve(f), "{}");
        Render.write(dir, md);
        assertThat(Files.readString(md)).contains("_Not finished: 2 runs are in its journal (`docs/results/instruct-runs/`)")
                .doesNotContain("_Not run yet: `docs/generate-results.sh instruct`._");
    }

    @Test
    void theDefaultBudgetRunsGetTheirOwnSectionAfterTheFullRuns(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("results")), md = tmp.resolve("results.md");
        Path spam = Files.createDirectories(dir.resolve("demo-default/spam"));
        Files.copy(Path.of("../docs/results/demo-default/spam/results.json"), spam.resolve("results.json"));     // the README's run
        Render.write(dir, md);
        String text = Files.readString(md);
        int full = text.indexOf("## The demo with `--full`"), budget = text.indexOf("## The demo with its default budget");
        assertThat(full).isNotNegative();
        assertThat(budget).isGreaterThan(full);
        assertThat(text.substring(full, budget)).contains("_Not run yet: `docs/generate-results.sh demo`._");
        String section = text.substring(budget);
        assertThat(section).contains("### spam", "| method | trainable params | trainable % |", "| majority class |", "| full fine-tuning |")
                .doesNotContain("_Partial")                                      // all eleven methods ran
                .doesNotContain("results.png");                                   // no chart was copied, so none is linked
    }
}
