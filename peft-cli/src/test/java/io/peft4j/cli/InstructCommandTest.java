package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.peft4j.cli.CliTest.M;
import static io.peft4j.cli.CliTest.RES;
import static io.peft4j.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code peft instruct} on the tiny BERT, two built-in tasks with short instruction files of their own, and its bad input. */
class InstructCommandTest {
    static Path tinyBert(Path tmp) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("bert"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(RES.resolve("fixtures/bert-tiny/" + f), model.resolve(f));
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "female", "male", "positive", "negative", "name",
                "word", "is", "it", "a", ":", ".", "?", "good", "bad"));
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(model.resolve("vocab.txt"), vocab);
        return model;
    }

    static Path instructions(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("instructions"));
        Files.writeString(dir.resolve("name-gender.json"), """
                {"task": "name-gender", "label_words": {"female": "female", "male": "male"}, "instructions": [
                  {"form": "sentence", "template": "name : {text} . it is {mask} ."},
                  {"form": "sentence", "template": "is {text} a female name ? {mask} ."},
                  {"form": "sentence", "template": "{text} is a {mask} name ."},
                  {"form": "name", "template": "name : {text} {mask}"}]}
                """);
        Files.writeString(dir.resolve("opinion-words.json"), """
                {"task": "opinion-words", "cluster": "word-sentiment", "label_words": {"positive": "good", "negative": "bad"}, "instructions": [
                  {"form": "sentence", "template": "word : {text} . it is {mask} ."},
                  {"form": "sentence", "template": "is {text} good ? {mask} ."},
                  {"form": "sentence", "template": "{text} is a {mask} word .", "label_words": {"positive": "positive", "negative": "negative"}},
                  {"form": "paragraph", "template": "a word is good or bad . say which . word : {text} . it is {mask} ."}]}
                """);
        return dir;
    }

    private static String[] args(Path model, Path instr, String... more) {
        List<String> a = new ArrayList<>(List.of("instruct", "--model", model.toString(), "--tasks", "name-gender,opinion-words", "--instructions",
                instr.toString(), "--steps", "2", "--batch-size", "4", "--examples", "8", "--dev-examples", "6", "--seen-dev-examples", "4",
                "--max-length", "24", "--r", "2", "--alpha", "4", "--no-progress"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void aStudyOfOneHeldOutTaskPrintsJsonAndWritesItsFiles(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), out = tmp.resolve("out");
        CliTest.Result r = run(args(model, instructions(tmp), "--holdout", "name-gender", "--schemes", "prompt,hyper", "--output", out.toString(), "--json"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.path("config").path("holdout").asText()).isEqualTo("name-gender");
        List<String> runs = new ArrayList<>();
        for (JsonNode run : o.path("runs")) {
            runs.add(run.path("system").asText());
            if (!run.path("system").asText().equals("supervised")) assertThat(run.path("trained_on").toString()).isEqualTo("[\"opinion-words\"]");
        }
        assertThat(runs).containsExactly("supervised", "prompt", "hyper");
        int heldOut = 0;
        for (JsonNode s : o.path("scores")) if (!s.path("seen").asBoolean() && s.path("task").asText().equals("name-gender")) heldOut++;
        assertThat(heldOut).isEqualTo(3 * 2 + 2);     // base, supervised, prompt, hyper: sentence-3 and name-1 each
        assertThat(out.resolve("results.json")).exists();
        assertThat(Files.readString(out.resolve("results.md"))).contains("### Held-out tasks");

        CliTest.Result md = run(args(model, instructions(tmp), "--holdout", "name-gender", "--schemes", "prefix", "--no-base", "--no-supervised"));
        assertThat(md.code()).as(md.err()).isZero();
        assertThat(md.out()).contains("| name-gender | name-gender | 6 |").contains("| prefix |");
    }

    @Test
    void badInputIsOneLineNamingTheFault(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), instr = instructions(tmp);
        CliTest.Result unknown = run("instruct", "--model", model.toString(), "--tasks", "spam,imdb");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err().strip()).isEqualTo("peft instruct: error: unknown task 'imdb' (tasks: spam, sotu, opinion-words, afinn-sentiment, name-gender, stopword-language)");

        CliTest.Result holdout = run(args(model, instr, "--holdout", "spam"));
        assertThat(holdout.err().strip()).isEqualTo("peft instruct: error: --holdout: 'spam' is not one of the tasks (name-gender, opinion-words) or 'all'");

        Files.writeString(instr.resolve("name-gender.json"), Files.readString(instr.resolve("name-gender.json")).replace("{text} is a {mask} name .", "{text} is a name ."));
        CliTest.Result noMask = run(args(model, instr));
        assertThat(noMask.code()).isEqualTo(1);
        assertThat(noMask.err().strip()).isEqualTo("peft instruct: error: " + instr.resolve("name-gender.json")
                + ": field 'instructions[2].template': template '{text} is a name .' lacks the answer slot {mask}");

        Files.writeString(instr.resolve("name-gender.json"), """
                {"task": "name-gender", "label_words": {"female": "female", "male": "male", "other": "w40"}, "instructions": [
                  {"form": "sentence", "template": "{text} {mask}"}]}
                """);
        CliTest.Result extraLabel = run(args(model, instr));
        assertThat(extraLabel.err()).contains("field 'label_words' names label 'other', which the data");

        CliTest.Result steps = run("instruct", "--model", model.toString(), "--tasks", "name-gender,opinion-words", "--steps", "0");
        assertThat(steps.err().strip()).isEqualTo("peft instruct: error: --steps must be positive, not 0");
        CliTest.Result scheme = run(args(model, instructions(tmp.resolve("again2")), "--schemes", "prompt,lora"));
        assertThat(scheme.err().strip()).isEqualTo("peft instruct: error: unknown scheme 'lora' (schemes: prompt, prefix, hyper)");
    }
}
