package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The peft command end to end (in-process): JSON outputs against the independent fixtures, and errors. */
class CliTest {
    static final Path RES = Path.of("../peft-core/src/test/resources").toAbsolutePath().normalize();
    static final ObjectMapper M = new ObjectMapper();

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void logitsJsonReproducesGpt2Fixture() throws Exception {
        JsonNode exp = M.readTree(RES.resolve("fixtures/gpt2-tiny/expected.json").toFile());
        Result r = run("logits", "--model", RES.resolve("fixtures/gpt2-tiny").toString(), "--ids", "69,64,82,74,8,13,79", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertMatrix(o.get("logits"), exp.get("logits"), 7);
        assertThat(o.get("hidden").size()).isEqualTo(7);
        assertThat(o.get("hidden").get(0).size()).isEqualTo(32);
    }

    @Test
    void logitsJsonReproducesBertFixtureWithTypesAndMask() throws Exception {
        JsonNode exp = M.readTree(RES.resolve("fixtures/bert-tiny/expected.json").toFile());
        Result r = run("logits", "--model", RES.resolve("fixtures/bert-tiny").toString(), "--ids", csv(exp.get("input_ids")),
                "--token-types", csv(exp.get("token_type_ids")), "--attention-mask", csv(exp.get("attention_mask")), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertMatrix(o.get("logits"), exp.get("mlm_logits"), 10);
        assertMatrix(o.get("hidden"), exp.get("last_hidden_state"), 10);
    }

    private static void assertMatrix(JsonNode actual, JsonNode expected, int rowsComputed) {
        // the fixture holds the unpadded positions; the command prints every computed position
        assertThat(actual.size()).isEqualTo(rowsComputed);
        for (int i = 0; i < expected.size(); i++) {
            for (int j = 0; j < expected.get(i).size(); j++) {
                assertThat(actual.get(i).get(j).asDouble()).isCloseTo(expected.get(i).get(j).asDouble(), within(1e-4));
            }
        }
    }

    private static String csv(JsonNode a) {
        StringBuilder sb = new StringBuilder();
        a.forEach(x -> sb.append(sb.length() == 0 ? "" : ",").append(x.asInt()));
        return sb.toString();
    }

    @Test
    void tokenizeNeedsOnlyConfigAndTokenizerFiles(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.copy(RES.resolve("tokenizers/gpt2/vocab.json"), tmp.resolve("vocab.json"));
        Files.copy(RES.resolve("tokenizers/gpt2/merges.txt"), tmp.resolve("merges.txt"));
        Result r = run("tokenize", "--model", tmp.toString(), "--json", "Hello world", "It's 2026!");
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        JsonNode first = M.readTree(lines[0]);
        assertThat(first.get("text").asText()).isEqualTo("Hello world");
        assertThat(M.convertValue(first.get("ids"), int[].class)).containsExactly(15496, 995);
        assertThat(M.convertValue(first.get("tokens"), String[].class)).containsExactly("Hello", "Ġworld");
    }

    /** Greedy generation's first token is the argmax of the reference logits at the prompt's last position. */
    @Test
    void generateGreedyFollowsReferenceLogits(@TempDir Path tmp) throws Exception {
        Path src = RES.resolve("fixtures/gpt2-tiny");
        Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
        Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        // a 97-token byte-level vocabulary: ids 0..93 are '!'..'~', 94 'Ġ' (space), 95 'Ċ' (newline), 96 <|endoftext|>
        var vocab = new java.util.LinkedHashMap<String, Integer>();
        for (int i = 0; i < 94; i++) vocab.put(String.valueOf((char) ('!' + i)), i);
        vocab.put("Ġ", 94);
        vocab.put("Ċ", 95);
        vocab.put("<|endoftext|>", 96);
        M.writeValue(tmp.resolve("tokenizer.json").toFile(), Map.of("model", Map.of("type", "BPE", "vocab", vocab, "merges", java.util.List.of())));
        JsonNode exp = M.readTree(src.resolve("expected.json").toFile());
        JsonNode last = exp.get("logits").get(6);
        int argmax = 0;
        for (int j = 1; j < last.size(); j++) if (last.get(j).asDouble() > last.get(argmax).asDouble()) argmax = j;
        String prompt = "fask).p";   // ids 69,64,82,74,8,13,79 in this vocabulary
        Result r = run("generate", "--model", tmp.toString(), "--max-new-tokens", "1", "--temperature", "0", prompt);
        assertThat(r.code()).as(r.err()).isZero();
        String expectedNext = argmax < 94 ? String.valueOf((char) ('!' + argmax)) : argmax == 94 ? " " : argmax == 95 ? "\n" : "";
        assertThat(r.out().stripTrailing()).isEqualTo((prompt + expectedNext).stripTrailing());
        Result sampled1 = run("generate", "--model", tmp.toString(), "--max-new-tokens", "8", "--temperature", "1.0", "--seed", "7", prompt);
        Result sampled2 = run("generate", "--model", tmp.toString(), "--max-new-tokens", "8", "--temperature", "1.0", "--seed", "7", prompt);
        assertThat(sampled1.out()).isEqualTo(sampled2.out()).startsWith(prompt);
    }

    @Test
    void badInputGivesOneLineErrorsAndNonZeroExit(@TempDir Path tmp) throws Exception {
        Result unknown = run("logits", "--model", "no-such-model", "--ids", "1", "--json");
        assertThat(unknown.code()).isNotZero();
        assertThat(unknown.out()).isEmpty();
        assertThat(unknown.err()).contains("no-such-model").contains("not a known model name").doesNotContain("\tat ");
        Path corrupt = Files.createDirectories(tmp.resolve("corrupt"));
        Files.copy(RES.resolve("fixtures/gpt2-tiny/config.json"), corrupt.resolve("config.json"));
        byte[] st = Files.readAllBytes(RES.resolve("fixtures/gpt2-tiny/model.safetensors"));
        Files.write(corrupt.resolve("model.safetensors"), java.util.Arrays.copyOf(st, st.length / 2));
        Result trunc = run("logits", "--model", corrupt.toString(), "--ids", "1,2", "--json");
        assertThat(trunc.code()).isNotZero();
        assertThat(trunc.err()).contains("model.safetensors").contains("outside the data section").doesNotContain("\tat ");
        Result tooLong = run("logits", "--model", RES.resolve("fixtures/gpt2-tiny").toString(), "--ids", "1,".repeat(65) + "1", "--json");
        assertThat(tooLong.code()).isNotZero();
        assertThat(tooLong.err()).contains("longer than the model's 64");
        Result badIds = run("logits", "--model", RES.resolve("fixtures/gpt2-tiny").toString(), "--ids", "1,x", "--json");
        assertThat(badIds.err()).contains("--ids").contains("comma-separated integers");
        Result usage = run("logits", "--ids", "1");
        assertThat(usage.code()).isEqualTo(2);
        assertThat(usage.err()).contains("--model");
        Result noMask = run("fill-mask", "--model", RES.resolve("fixtures/bert-tiny").toString(), "text");
        assertThat(noMask.code()).isNotZero();
        assertThat(noMask.err()).contains("no tokenizer found");
    }

    @Test
    void fillMaskJsonOnRealBertBase() throws Exception {
        Result r = run("fill-mask", "--model", "bert-base-uncased", "--top-k", "3", "--json", "The capital of France is [MASK].");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out().strip());
        assertThat(o.get("text").asText()).isEqualTo("The capital of France is [MASK].");
        assertThat(o.get("predictions")).hasSize(3);
        assertThat(o.get("predictions").get(0).get("token").asText()).isEqualTo("paris");
        // Hugging Face's fill-mask pipeline documents 0.4168 for this sentence with bert-base-uncased
        assertThat(o.get("predictions").get(0).get("score").asDouble()).isCloseTo(0.4168, within(0.0015));
    }
}
