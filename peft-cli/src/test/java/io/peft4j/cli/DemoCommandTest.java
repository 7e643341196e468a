package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.peft4j.cli.CliTest.M;
import static io.peft4j.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code peft demo} end to end on the tiny BERT fixture with its own data, and its bad input. */
class DemoCommandTest {
    static final String TEMPLATE = "{text} it was {mask} .", VERBALIZER = "pos=good;neg=bad";

    static String[] demo(Path model, Path data, Path out, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("demo", "--model", model.toString(), "--data", data.toString(), "--dev", data.toString(),
                "--template", TEMPLATE, "--verbalizer", VERBALIZER, "--output", out.toString(), "--in-process", "--no-progress"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void theDemoPrintsItsSettingsATableRowPerMethodAndWhereTheFilesAreAndARerunReusesThem(@TempDir Path tmp) throws Exception {
        Path model = ClassifierCommandsTest.tinyBert(tmp), data = tmp.resolve("train.jsonl"), out = tmp.resolve("out");
        CliTest.Result r = run(demo(model, data, out, "--methods", "lora,majority,zero-shot,tfidf"));
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("peft demo: train with " + model);
        // 5-token texts: 16 tokens, so 2x the budget's examples and steps; the data has 12 of each label
        assertThat(lines.get(1)).startsWith("default budget (--full for all the data and each method's usual settings): a class-balanced sample of 24 of 24 "
                + "training examples, all 24 of 24 dev examples; at most 16 tokens per example").contains("64 steps of 8 per trained method", "lora 1e-03");
        assertThat(lines.get(3)).isEqualTo("method               trainable params trainable % dev accuracy  macro-F1 training time peak memory");
        assertThat(lines.get(5)).isEqualTo("majority class                      0           -       0.5000    0.3333             -         n/a");
        assertThat(lines.get(6)).startsWith("TF-IDF + LR                        12           -       1.0000    1.0000");   // good, bad, film, w9, w11; 2 classes
        assertThat(lines.get(7)).startsWith("zero-shot                           0          0%");
        assertThat(lines.get(8)).startsWith("LoRA");
        assertThat(r.out()).contains("results: " + out.resolve("results.md").toAbsolutePath().normalize());
        assertThat(r.err()).contains("method 1 of 4: majority class (trains nothing", "method 4 of 4: LoRA (trains rank-8 updates");
        JsonNode json = M.readTree(out.resolve("results.json").toFile());
        assertThat(json.get("rows")).hasSize(4);
        assertThat(json.get("rows").get(3).get("details").get("steps").asInt()).isEqualTo(64);
        assertThat(out.resolve("results.png")).isRegularFile();

        CliTest.Result again = run(demo(model, data, out, "--methods", "majority,tfidf,zero-shot,lora"));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out().lines().filter(l -> l.endsWith("(from an earlier run)")).count()).isEqualTo(4);
        assertThat(again.err()).doesNotContain("method 1 of 4");

        CliTest.Result forced = run(demo(model, data, out, "--methods", "majority,tfidf", "--force"));
        assertThat(forced.code()).as(forced.err()).isZero();
        assertThat(forced.out()).doesNotContain("(from an earlier run)");
        assertThat(forced.err()).contains("method 1 of 2: majority class", "method 2 of 2: TF-IDF + LR");
    }

    @Test
    void fillMaskKeepsTheFormerDemoSentencesAsItsDefaultInput(@TempDir Path tmp) throws Exception {
        Path model = ClassifierCommandsTest.tinyBert(tmp);
        CliTest.Result r = run("fill-mask", "--model", model.toString(), "--top-k", "2");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).startsWith("The capital of France is [MASK].\t");
        assertThat(lines.get(4)).startsWith("Java runs on the [MASK] virtual machine.\t");
    }

    @Test
    void badInputEndsWithOneLineAndExitCodeOne(@TempDir Path tmp) throws Exception {
        Path model = ClassifierCommandsTest.tinyBert(tmp), data = tmp.resolve("train.jsonl");
        CliTest.Result r = run("demo", "--task", "nope", "--output", tmp.resolve("o").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("peft demo: error: --task: 'nope' is not a built-in task (afinn-sentiment, name-gender, opinion-words, sotu, spam, "
                + "stopword-language); give your own data with --data FILE --dev FILE");
        r = run(demo(model, data, tmp.resolve("o"), "--methods", "lora,bogus"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("peft demo: error: --methods: 'bogus' is not a method (majority, tfidf, zero-shot, probe, prompt, ptuning, prefix, "
                + "adapter, lora, ia3, full)");
        Path file = Files.writeString(tmp.resolve("file"), "x");
        r = run(demo(model, data, file, "--methods", "majority"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("peft demo: error: " + file).contains("the output directory is a file").doesNotContain("\n");
        r = run(demo(model, data, file.resolve("sub"), "--methods", "majority"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("peft demo: error: " + file.resolve("sub")).contains("cannot be written").doesNotContain("\n");
        Path one = Files.writeString(tmp.resolve("one.jsonl"), "{\"text\": \"good film\", \"label\": \"pos\"}\n{\"text\": \"good\", \"label\": \"pos\"}\n");
        r = run("demo", "--model", model.toString(), "--data", one.toString(), "--dev", data.toString(), "--methods", "majority,tfidf",
                "--output", tmp.resolve("o1").toString(), "--no-progress");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("peft demo: error: " + one + ": the training data has one class (pos): there is nothing to tell apart; "
                + "a comparison needs at least two labels");
        r = run("demo", "--model", model.toString(), "--data", data.toString(), "--output", tmp.resolve("o2").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("peft demo: error: --data needs --dev (the examples every method is scored on)");
        r = run("demo", "--task", "spam", "--data", data.toString(), "--dev", data.toString());
        assertThat(r.err().strip()).isEqualTo("peft demo: error: --task and --data: give one (a built-in task, or your own data with --dev)");
        r = run("demo", "--model", model.toString(), "--data", data.toString(), "--dev", data.toString(), "--methods", "zero-shot",
                "--output", tmp.resolve("o3").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("peft demo: error: zero-shot: task 'train' has no zero-shot prompt");
    }
}
