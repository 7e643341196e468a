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
        return args(24, model, instr, more);
    }

    private static String[] args(int maxLength, Path model, Path instr, String... more) {
        List<String> a = new ArrayList<>(List.of("instruct", "--model", model.toString(), "--tasks", "name-gender,opinion-words", "--instructions",
                instr.toString(), "--steps", "2", "--batch-size", "4", "--examples", "8", "--dev-examples", "6", "--seen-dev-examples", "4",
                "--max-length", Integer.toString(maxLength), "--r", "2", "--alpha", "4", "--no-progress"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void aStudyOfOneHeldOutTaskPrintsJsonAndWritesItsFiles(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), out = tmp.resolve("out"), adapters = tmp.resolve("adapters");
        CliTest.Result r = run(args(model, instructions(tmp), "--holdout", "name-gender", "--schemes", "prompt,hyper", "--output", out.toString(), "--json",
                "--export-adapters", adapters.toString()));
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

        // the hypernetwork's LoRA for each held-out instruction, an ordinary adapter: it loads, and it changes the model's output
        List<String> exported = new ArrayList<>();
        try (var dirs = Files.list(adapters.resolve("name-gender"))) {
            dirs.forEach(d -> exported.add("name-gender/" + d.getFileName()));
        }
        List<String> evalIds = new ArrayList<>();
        for (JsonNode t : o.path("tasks")) {
            if (t.path("task").asText().equals("name-gender")) for (JsonNode i : t.path("eval_instructions")) evalIds.add(i.path("id").asText());
        }
        assertThat(exported).containsExactlyInAnyOrderElementsOf(evalIds).hasSize(2);
        Path one = adapters.resolve(evalIds.get(0));
        assertThat(M.readTree(one.resolve("adapter_config.json").toFile()).path("peft_type").asText()).isEqualTo("LORA");
        CliTest.Result plain = run("logits", "--model", model.toString(), "--ids", "2,5,11,4,3", "--json");
        CliTest.Result adapted = run("logits", "--model", model.toString(), "--adapter", one.toString(), "--ids", "2,5,11,4,3", "--json");
        assertThat(adapted.code()).as(adapted.err()).isZero();
        assertThat(M.readTree(adapted.out()).get("logits")).isNotEqualTo(M.readTree(plain.out()).get("logits"));

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

        // options are checked before the model is looked for
        CliTest.Result steps = run("instruct", "--model", tmp.resolve("no-such-model").toString(), "--tasks", "name-gender,opinion-words", "--steps", "0");
        assertThat(steps.err().strip()).isEqualTo("peft instruct: error: --steps must be positive, not 0");
        CliTest.Result scheme = run(args(model, instructions(tmp.resolve("again2")), "--schemes", "prompt,lora"));
        assertThat(scheme.err().strip()).isEqualTo("peft instruct: error: unknown scheme 'lora' (schemes: prompt, prefix, hyper)");
        CliTest.Result method = run(args(model, instructions(tmp.resolve("again3")), "--method", "dora"));
        assertThat(method.err().strip()).isEqualTo("peft instruct: error: --method: 'dora' is not one of lora, ia3, adapter, prefix, prompt, ptuning");
        CliTest.Result export = run(args(model, instructions(tmp.resolve("again7")), "--schemes", "prompt", "--export-adapters", tmp.resolve("x").toString()));
        assertThat(export.err().strip()).isEqualTo("peft instruct: error: --export-adapters: the hypernetwork scheme (hyper) is not among --schemes");
        CliTest.Result rank = run("instruct", "--model", model.toString(), "--tasks", "name-gender,opinion-words", "--r", "0");
        assertThat(rank.err().strip()).isEqualTo("peft instruct: error: --r must be positive, not 0");

        // an --output that cannot be written is refused before the study, not after it
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        CliTest.Result output = run(args(model, instructions(tmp.resolve("again5")), "--holdout", "name-gender", "--output", file.toString()));
        assertThat(output.code()).isEqualTo(1);
        assertThat(output.err().strip()).isEqualTo("peft instruct: error: " + file + ": --output is a file, not a directory");
        CliTest.Result under = run(args(model, instructions(tmp.resolve("again6")), "--holdout", "name-gender", "--output", file.resolve("sub").toString()));
        assertThat(under.err().strip()).startsWith("peft instruct: error: " + file.resolve("sub") + ": --output cannot be written (").doesNotContain("\n");
    }

    @Test
    void theTemplateSchemeTrainsWithEveryMethod(@TempDir Path tmp) throws Exception {
        Path model = tinyBert(tmp), instr = instructions(tmp);
        // short instructions: the tiny model's 40 positions hold 20 virtual tokens and 18 more
        Files.writeString(instr.resolve("opinion-words.json"), Files.readString(instr.resolve("opinion-words.json"))
                .replace(",\n  {\"form\": \"paragraph\", \"template\": \"a word is good or bad . say which . word : {text} . it is {mask} .\"}", ""));
        assertThat(Files.readString(instr.resolve("opinion-words.json"))).doesNotContain("paragraph");
        java.util.Map<String, Long> params = new java.util.LinkedHashMap<>();
        for (String m : List.of("lora", "ia3", "adapter", "prefix", "prompt", "ptuning")) {
            CliTest.Result r = run(args(18, model, instr, "--holdout", "name-gender", "--schemes", "prompt", "--no-base", "--no-supervised", "--method", m, "--json"));
            assertThat(r.code()).as(m + ": " + r.err()).isZero();
            assertThat(r.err()).contains("instruct: run 1 of 1: prompt, name-gender held out");     // said even without progress bars
            JsonNode run = M.readTree(r.out()).path("runs").get(0);
            assertThat(run.path("steps").asLong()).as(m).isEqualTo(2);
            params.put(m, run.path("trainable_params").asLong());
        }
        assertThat(params.values()).allMatch(n -> n > 0);
        assertThat(new java.util.HashSet<>(params.values())).as("each method trains its own parameters: " + params).hasSize(params.size());
    }
}
