package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.sft.data.Message;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.eval.GenerationEval;
import io.peft4j.sft.eval.TextMetrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.peft4j.cli.CliTest.M;
import static io.peft4j.cli.CliTest.RES;
import static io.peft4j.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Instruction tuning of a decoder from the command line on gpt2-tiny (64 positions, one token per character, with the
 * tokenizer {@link MergeCommandTest#gpt2WithTokenizer} writes): {@code train --format} overfits four instructions,
 * {@code eval} scores by generation and response loss, {@code generate --chat} answers; bad input is one line.
 */
class SftCommandsTest {
    static final String TRAIN = """
            {"instruction": "rev ab", "output": "ba", "task": "rev"}
            {"instruction": "rev cd", "output": "dc", "task": "rev"}
            {"instruction": "up ab", "output": "AB", "task": "up"}
            {"instruction": "up cd", "output": "CD", "task": "up"}
            """;

    @TempDir
    static Path tmp;
    static Path model, data, adapter;
    static JsonNode trained;
    private static String trainErr;

    /** One LoRA run shared by the tests: overfitting four short answers with the plain chat template. */
    @BeforeAll
    static void train() throws Exception {
        model = MergeCommandTest.gpt2WithTokenizer(tmp);
        data = Files.writeString(tmp.resolve("train.jsonl"), TRAIN);
        adapter = tmp.resolve("adapter");
        CliTest.Result r = run("train", "--model", model.toString(), "--data", data.toString(), "--dev", data.toString(), "--format", "alpaca",
                "--chat-template", "plain", "--method", "lora", "--r", "8", "--alpha", "16", "--target-modules", "c_attn,c_fc", "--lr", "3e-2",
                "--max-steps", "60", "--batch-size", "4", "--output", adapter.toString());
        assertThat(r.code()).as(r.err()).isZero();
        trained = M.readTree(r.out());
        trainErr = r.err();
    }

    private static Tokenizer tokenizer() {
        return Tokenizers.load(model);
    }

    /** The base with the trained adapter installed, and its greedy answer to {@code user} under the plain template. */
    private static String answer(PeftModel peft, String user, int maxNewTokens, List<String> stop) {
        Tokenizer tok = tokenizer();
        int[] prompt = ChatFormat.builtin("plain", tok).promptIds(List.of(Message.user(user)));
        int[] ids = Generator.generate((Decoder) peft.base(), prompt, maxNewTokens, 0, 0, tok.eosId());
        return GenerationEval.decodeAnswer(tok, ids, stop);
    }

    private static PeftModel withAdapter() {
        PeftModel peft = PeftModel.of(Models.load(model, DataType.FLOAT));
        peft.load(adapter, PeftModel.DEFAULT);
        return peft;
    }

    @Test
    void trainWritesALoadableAdapterWhoseHeldOutResponseLossIsBelowTheUntrainedModels() throws Exception {
        assertThat(trained.get("format").asText()).isEqualTo("alpaca");
        assertThat(trained.get("chat_template").asText()).isEqualTo("plain");
        assertThat(trained.get("examples").asInt()).isEqualTo(4);
        assertThat(trained.get("steps").asInt()).isEqualTo(60);
        double before = trained.get("dev_loss_before").asDouble(), after = trained.get("dev_loss").asDouble();
        assertThat(after).isLessThan(before);
        assertThat(trained.get("dev_perplexity").asDouble()).isCloseTo(Math.exp(after), within(1e-9));
        // the dev loss the trainer evaluated at its last step (printed to 4 places) is the reported one (one dev batch here, so
        // this checks the wiring; ResponseLoss weights batches by target tokens)
        var printed = java.util.regex.Pattern.compile("step 60: dev loss ([0-9.]+)").matcher(trainErr);
        assertThat(printed.find()).as(trainErr).isTrue();
        assertThat(Double.parseDouble(printed.group(1))).isCloseTo(after, within(5.1e-5));
        try (var files = Files.list(adapter)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("adapter_config.json", "adapter_model.safetensors", "sft.json");
        }
        JsonNode cfg = M.readTree(adapter.resolve("adapter_config.json").toFile());
        assertThat(cfg.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(cfg.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        JsonNode sft = M.readTree(adapter.resolve("sft.json").toFile());
        assertThat(sft.get("format").asText()).isEqualTo("alpaca");
        assertThat(sft.get("chat_template").asText()).isEqualTo("plain");
        assertThat(sft.get("max_length").asInt()).isEqualTo(64);
        assertThat(sft.get("loss_on").asText()).isEqualTo("responses");
        assertThat(sft.get("truncation").asText()).isEqualTo("cut-prompt-start");
        assertThat(sft.get("metrics").get("dev_loss").asDouble()).isEqualTo(after);
        try (var siblings = Files.list(tmp)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp"));
        }

        // loadable: eval reads the directory back (format and template from sft.json) and finds the same held-out loss,
        // while the base model alone has the untrained loss (LoRA starts as the identity)
        CliTest.Result withAdapter = run("eval", "--adapter", adapter.toString(), "--data", data.toString(), "--json", "--max-new-tokens", "4");
        assertThat(withAdapter.code()).as(withAdapter.err()).isZero();
        assertThat(M.readTree(withAdapter.out()).get("response_loss").asDouble()).isCloseTo(after, within(1e-4));
        CliTest.Result base = run("eval", "--model", model.toString(), "--data", data.toString(), "--format", "alpaca", "--chat-template", "plain",
                "--json", "--max-new-tokens", "4");
        assertThat(base.code()).as(base.err()).isZero();
        double baseLoss = M.readTree(base.out()).get("response_loss").asDouble();
        assertThat(baseLoss).isCloseTo(before, within(1e-4));
        assertThat(baseLoss).isGreaterThan(after);
    }

    /**
     * A case built by hand: task "own" holds references equal to the adapted model's own greedy answers (exact match 1),
     * task "other" a reference it does not produce (exact match 0); overall 0.5, the task mean 0.5, and ROUGE-L as
     * {@link TextMetrics} scores the answers.
     */
    @Test
    void evalJsonScoresEqualAHandComputedCase() throws Exception {
        PeftModel peft = withAdapter();
        String a1 = answer(peft, "rev ab", 4, List.of()), a2 = answer(peft, "up cd", 4, List.of()), a3 = answer(peft, "rev cd", 4, List.of());
        assertThat(a1).as("the adapted model's answer").isNotBlank();
        assertThat(a2).isNotBlank();
        String other = "zz yy";
        assertThat(a3.strip()).isNotEqualTo(other);
        List<String> rows = new ArrayList<>();
        rows.add(M.writeValueAsString(Map.of("instruction", "rev ab", "output", a1, "task", "own")));
        rows.add(M.writeValueAsString(Map.of("instruction", "up cd", "output", a2, "task", "own")));
        rows.add(M.writeValueAsString(Map.of("instruction", "rev cd", "output", other, "task", "other")));
        Path file = Files.write(tmp.resolve("constructed.jsonl"), rows);

        CliTest.Result r = run("eval", "--adapter", adapter.toString(), "--data", file.toString(), "--max-new-tokens", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        for (String f : List.of("format", "chat_template", "n", "exact_match", "accuracy", "rouge_l", "response_loss", "perplexity", "per_task", "task_mean")) {
            assertThat(o.has(f)).as(f).isTrue();
        }
        assertThat(o.get("n").asInt()).isEqualTo(3);
        JsonNode own = o.get("per_task").get("own"), oth = o.get("per_task").get("other");
        assertThat(own.get("n").asInt()).isEqualTo(2);
        assertThat(own.get("exact_match").asDouble()).isEqualTo(1.0);
        assertThat(own.get("accuracy").asDouble()).isEqualTo(1.0);
        assertThat(oth.get("exact_match").asDouble()).isEqualTo(0.0);
        assertThat(o.get("exact_match").asDouble()).isCloseTo(2 / 3.0, within(1e-12));
        assertThat(o.get("task_mean").get("exact_match").asDouble()).isCloseTo(0.5, within(1e-12));
        double rouge = (TextMetrics.rougeL(a1, a1).f() + TextMetrics.rougeL(a2, a2).f() + TextMetrics.rougeL(other, a3).f()) / 3;
        assertThat(o.get("rouge_l").asDouble()).isCloseTo(rouge, within(1e-12));
        assertThat(oth.get("accuracy").asDouble()).isEqualTo(TextMetrics.labelMatch(a3, other) ? 1.0 : 0.0);
        assertThat(o.get("perplexity").asDouble()).isCloseTo(Math.exp(o.get("response_loss").asDouble()), within(1e-9));
        assertThat(own.get("response_loss").asDouble()).isPositive();

        // the table names each task and the overall row
        CliTest.Result table = run("eval", "--adapter", adapter.toString(), "--data", file.toString(), "--max-new-tokens", "4");
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.out()).contains("own").contains("other").contains("overall").contains("mean of tasks");
    }

    @Test
    void generateWithChatPrintsOnlyTheAnswerAndStopsAtStopStrings() {
        PeftModel peft = withAdapter();
        String expected = answer(peft, "rev ab", 8, List.of());
        CliTest.Result r = run("generate", "--adapter", adapter.toString(), "--chat", "--max-new-tokens", "8", "rev ab");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(expected + System.lineSeparator());
        assertThat(r.out()).doesNotContain("rev ab");
        assertThat(expected).isNotEmpty();
        String stop = expected.substring(expected.length() - 1);
        CliTest.Result cut = run("generate", "--model", model.toString(), "--adapter", adapter.toString(), "--chat", "--max-new-tokens", "8",
                "--stop", stop, "rev ab");
        assertThat(cut.code()).as(cut.err()).isZero();
        assertThat(cut.out().strip()).isEqualTo(expected.substring(0, expected.indexOf(stop)).strip());
        // without --chat: the prompt continued as text
        CliTest.Result plain = run("generate", "--model", model.toString(), "--adapter", adapter.toString(), "--max-new-tokens", "3", "rev ab\n");
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.out()).startsWith("rev ab\n");
    }

    /** Responses longer than --max-length are cut by the length policy (the default template here), never an error. */
    @Test
    void longResponsesAreTruncatedNotAnError() throws Exception {
        Path out = tmp.resolve("long");
        Path file = Files.writeString(tmp.resolve("long.jsonl"), """
                {"instruction": "count", "output": "one two three four five six seven eight nine ten"}
                {"instruction": "rev ab", "output": "ba"}
                """);
        CliTest.Result r = run("train", "--model", model.toString(), "--data", file.toString(), "--format", "alpaca", "--method", "lora",
                "--max-length", "48", "--max-steps", "2", "--batch-size", "2", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.get("chat_template").asText()).isEqualTo("instruction");
        assertThat(o.get("truncated").asInt()).isEqualTo(1);
        assertThat(o.get("skipped").asInt()).isZero();
        assertThat(o.get("max_length").asInt()).isEqualTo(48);
        CliTest.Result drop = run("train", "--model", model.toString(), "--data", file.toString(), "--format", "alpaca", "--method", "lora",
                "--max-length", "48", "--truncation", "drop", "--max-steps", "1", "--batch-size", "1");
        assertThat(drop.code()).as(drop.err()).isZero();
        assertThat(M.readTree(drop.out()).get("skipped").asInt()).isEqualTo(1);
    }

    /**
     * {@code --pack} puts the four examples into fewer rows, and one step over all of them (batch size 8) has the loss of
     * the unpacked run's step: the loss of a packed row is the token-weighted mean of its examples' losses, so the
     * step's mean over the same response tokens is the same (within float32 rounding). LoRA, and prefix tuning whose
     * prefix every example of a row sees, on gpt2-tiny and llama-tiny.
     */
    @Test
    void packedFirstStepHasTheUnpackedLoss() throws Exception {
        Path llama = Files.createDirectories(tmp.resolve("llama-tiny-pack"));
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(RES.resolve("fixtures/llama-tiny/" + f), llama.resolve(f));
        Files.copy(model.resolve("tokenizer.json"), llama.resolve("tokenizer.json"));
        for (Path m : List.of(model, llama)) {
            for (String method : List.of("lora", "prefix")) {
                JsonNode[] runs = new JsonNode[2];
                for (int p = 0; p < 2; p++) {
                    List<String> args = new ArrayList<>(List.of("train", "--model", m.toString(), "--data", data.toString(), "--format", "alpaca",
                            "--chat-template", "plain", "--method", method, "--max-steps", "1", "--batch-size", "8", "--lr", "1e-2"));
                    if (p == 1) args.add("--pack");
                    CliTest.Result r = run(args.toArray(String[]::new));
                    assertThat(r.code()).as(r.err()).isZero();
                    runs[p] = M.readTree(r.out());
                }
                String what = m.getFileName() + " " + method;
                assertThat(runs[0].has("packed_rows")).isFalse();
                assertThat(runs[1].get("pack").asBoolean()).isTrue();
                assertThat(runs[1].get("examples").asInt()).isEqualTo(4);
                assertThat(runs[1].get("packed_rows").asInt()).as(what).isBetween(1, 3);
                assertThat(runs[1].get("final_loss").asDouble()).as(what + ": the packed step's loss")
                        .isCloseTo(runs[0].get("final_loss").asDouble(), within(1e-5));
            }
        }
    }

    /** With --pack, an example longer than --max-length follows the length policy as without it, never an error. */
    @Test
    void packedLongExamplesFollowTheLengthPolicy() throws Exception {
        Path file = Files.writeString(tmp.resolve("long-pack.jsonl"), """
                {"instruction": "count", "output": "one two three four five six seven eight nine ten"}
                {"instruction": "rev ab", "output": "ba"}
                {"instruction": "up cd", "output": "CD"}
                """);
        for (String policy : List.of("cut-prompt-start", "cut-end", "drop")) {
            CliTest.Result r = run("train", "--model", model.toString(), "--data", file.toString(), "--format", "alpaca", "--method", "lora",
                    "--max-length", "48", "--truncation", policy, "--pack", "--max-steps", "1", "--batch-size", "2");
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode o = M.readTree(r.out());
            assertThat(o.get(policy.equals("drop") ? "skipped" : "truncated").asInt()).as(policy).isEqualTo(1);
            assertThat(o.get("packed_rows").asInt()).as(policy).isBetween(1, o.get("examples").asInt());
        }
    }

    /**
     * llama-tiny (the same one-token-per-character vocabulary fits its 128 ids) with a chat template of its own in
     * tokenizer_config.json, chat-format data: the default template is the model's, LoRA takes Llama's default targets,
     * the held-out loss falls, and generate --chat answers through the Llama key/value cache.
     */
    @Test
    void llamaTinyTrainsWithItsOwnChatTemplateAndAnswers() throws Exception {
        Path llama = Files.createDirectories(tmp.resolve("llama-tiny"));
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(RES.resolve("fixtures/llama-tiny/" + f), llama.resolve(f));
        Files.copy(model.resolve("tokenizer.json"), llama.resolve("tokenizer.json"));
        M.writeValue(llama.resolve("tokenizer_config.json").toFile(), Map.of("eos_token", "<|endoftext|>", "chat_template",
                "{% for m in messages %}{{ '<' + m.role + '>' + m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
                        + "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}"));
        List<String> rows = new ArrayList<>();
        for (String[] qa : new String[][]{{"rev ab", "ba"}, {"rev cd", "dc"}, {"up ab", "AB"}}) {
            rows.add(M.writeValueAsString(Map.of("messages", List.of(Map.of("role", "user", "content", qa[0]), Map.of("role", "assistant", "content", qa[1])))));
        }
        Path chat = Files.write(tmp.resolve("chat.jsonl"), rows);
        Path out = tmp.resolve("llama-adapter");
        CliTest.Result r = run("train", "--model", llama.toString(), "--data", chat.toString(), "--dev", chat.toString(), "--format", "chat",
                "--method", "lora", "--r", "8", "--alpha", "16", "--lr", "3e-2", "--max-steps", "40", "--batch-size", "3", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.get("chat_template").asText()).isEqualTo("model");
        assertThat(o.get("dev_loss").asDouble()).isLessThan(o.get("dev_loss_before").asDouble());
        JsonNode cfg = M.readTree(out.resolve("adapter_config.json").toFile());
        assertThat(cfg.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(cfg.get("target_modules").toString()).contains("q_proj").contains("v_proj");

        PeftModel peft = PeftModel.of(Models.load(llama, DataType.FLOAT));
        peft.load(out, PeftModel.DEFAULT);
        Tokenizer tok = Tokenizers.load(llama);
        int[] prompt = ChatFormat.resolve(llama, null, tok).promptIds(List.of(Message.user("rev ab")));
        assertThat(tok.decode(prompt, false)).isEqualTo("<user>rev ab\n<assistant>");
        String expected = GenerationEval.decodeAnswer(tok, Generator.generate((Decoder) peft.base(), prompt, 6, 0, 0, tok.eosId()), List.of());
        CliTest.Result g = run("generate", "--adapter", out.toString(), "--chat", "--max-new-tokens", "6", "rev ab");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out()).isEqualTo(expected + System.lineSeparator());
    }

    @Test
    void badInputIsOneLineWithTheFileAndLine() throws Exception {
        Path missing = Files.writeString(tmp.resolve("missing.jsonl"), """
                {"instruction": "rev ab", "output": "ba"}
                {"instruction": "rev cd"}
                """);
        CliTest.Result r = run("train", "--model", model.toString(), "--data", missing.toString(), "--format", "alpaca", "--method", "lora");
        assertOneLine(r, "peft train: error: " + missing + ": line 2: field 'output' is missing");
        int positions = io.peft4j.core.model.Models.load(model, DataType.FLOAT).config().maxPositions();
        CliTest.Result tooLong = run("eval", "--model", model.toString(), "--adapter", adapter.toString(), "--data", data.toString(),
                "--max-new-tokens", String.valueOf(positions));
        assertOneLine(tooLong, "peft eval: error: --max-new-tokens " + positions + " leaves no room for a prompt: the model has " + positions + " positions");

        CliTest.Result chatRow = run("eval", "--model", model.toString(), "--data", missing.toString(), "--format", "chat");
        assertOneLine(chatRow, missing + ": line 1: field 'messages' is missing");

        CliTest.Result format = run("train", "--model", model.toString(), "--data", data.toString(), "--format", "xml", "--method", "lora");
        assertOneLine(format, "--format: 'xml' is not one of alpaca|chat|completion");

        CliTest.Result encoder = run("train", "--model", RES.resolve("fixtures/bert-tiny").toString(), "--data", data.toString(), "--format", "alpaca",
                "--method", "lora");
        assertOneLine(encoder, "train --format needs a decoder model");
        assertThat(encoder.err()).contains("bert encoder");

        CliTest.Result noTemplate = run("train", "--model", model.toString(), "--data", data.toString(), "--format", "alpaca", "--method", "lora",
                "--chat-template", "nosuch");
        assertOneLine(noTemplate, "no chat template named 'nosuch'");

        CliTest.Result classifierOption = run("train", "--model", model.toString(), "--data", data.toString(), "--format", "alpaca", "--method", "lora",
                "--label-field", "y");
        assertOneLine(classifierOption, "--label-field is for classification data");

        // the model's own chat template refuses a system turn: the message names the template's line and the data's line
        Path withTemplate = tmp.resolve("gpt2-with-template");
        Files.createDirectories(withTemplate);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) Files.copy(model.resolve(f), withTemplate.resolve(f));
        M.writeValue(withTemplate.resolve("tokenizer_config.json").toFile(), Map.of("eos_token", "<|endoftext|>", "chat_template",
                "{% for m in messages %}\n{% if m.role == 'system' %}\n{{ raise_exception('no system turns') }}\n{% endif %}"
                        + "{{ m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}\n{% endfor %}"));
        Path system = Files.writeString(tmp.resolve("system.jsonl"), """
                {"instruction": "rev ab", "output": "ba"}
                {"system": "be brief", "instruction": "rev cd", "output": "dc"}
                """);
        CliTest.Result template = run("train", "--model", withTemplate.toString(), "--data", system.toString(), "--format", "alpaca", "--method", "lora",
                "--max-steps", "1");
        assertOneLine(template, "no system turns");
        assertThat(template.err()).contains("line 3").contains(system + ": line 2");
    }

    private static void assertOneLine(CliTest.Result r, String contains) {
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.err()).contains(contains).doesNotContain("\tat ");
        assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
    }
}
