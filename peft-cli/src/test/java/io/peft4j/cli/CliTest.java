package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
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

    @Test
    void logitsWithEachFixtureAdapterReproduceHfPeft() throws Exception {
        JsonNode exp = M.readTree(RES.resolve("fixtures/gpt2-tiny/expected.json").toFile());
        String model = RES.resolve("fixtures/gpt2-tiny").toString();
        for (String[] c : new String[][]{{"gpt2-tiny-lora", "lora_logits"}, {"gpt2-tiny-prefix", "prefix_logits"},
                {"gpt2-tiny-prompt", "prompt_logits_all_positions"}}) {
            Result r = run("logits", "--model", model, "--adapter", RES.resolve("fixtures/" + c[0]).toString(), "--ids", csv(exp.get("input_ids")), "--json");
            assertThat(r.code()).as(r.err()).isZero();
            assertMatrix(M.readTree(r.out()).get("logits"), exp.get(c[1]), exp.get(c[1]).size());
        }
        Result bad = run("logits", "--model", RES.resolve("fixtures/bert-tiny").toString(), "--adapter", RES.resolve("fixtures/gpt2-tiny-lora").toString(),
                "--ids", "1,2", "--json");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err()).startsWith("peft logits: error: ").contains("c_attn").doesNotContain("\tat ");
    }

    @Test
    void paramsReproducesHfPeftCountsFromAConfigAlone() {
        String gpt2 = RES.resolve("configs/gpt2/config.json").toString();
        assertThat(run("params", "--config", gpt2, "--method", "lora", "--r", "8", "--target-modules", "c_attn").out().trim())
                .isEqualTo("trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364");
        assertThat(run("params", "--config", gpt2, "--method", "prompt", "--num-virtual-tokens", "20").out()).startsWith("trainable params: 15,360 ||");
        assertThat(run("params", "--config", gpt2, "--method", "prefix", "--num-virtual-tokens", "20").out()).startsWith("trainable params: 368,640 ||");
        assertThat(run("params", "--config", gpt2, "--method", "prefix", "--prefix-projection", "--encoder-hidden-size", "768").out())
                .startsWith("trainable params: 14,780,160 ||");
        assertThat(run("params", "--config", gpt2, "--method", "ia3").out()).startsWith("trainable params: 64,512 ||");
        assertThat(run("params", "--config", gpt2, "--method", "ptuning").out()).startsWith("trainable params: 1,787,136 ||");
        Result bad = run("params", "--config", gpt2, "--method", "lora", "--target-modules", "query");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("match no linear layer").contains("c_attn");
        assertThat(run("params", "--config", gpt2, "--method", "dora").err()).contains("'dora' is not one of");
    }

    /**
     * The same on Llama 3.2 1B's published config (L 16, d 2048, 32 query and 8 key/value heads of 64, f 8192, tied):
     * LoRA r=8 on the default q_proj, v_proj {@code L·r·(d + 2048) + L·r·(d + 512)} = 851,968; IA3 (k, v, down)
     * {@code L·(512 + 512 + 8192)} = 147,456; prompt {@code 20·d} = 40,960; prefix by the key/value width
     * {@code 20·2L·512} = 327,680; P-tuning's MLP {@code 20·d + 3(d·d + d)} = 12,630,016; Pfeiffer rf 16
     * {@code L·(2·d·128 + 128 + d)} = 8,423,424; full: all 1,235,814,400.
     */
    @Test
    void paramsCountsLlamaConfigsAsHfPeft() {
        String llama = RES.resolve("configs/llama-3.2-1b/config.json").toString();
        assertThat(run("params", "--config", llama, "--method", "lora", "--r", "8").out().trim())
                .isEqualTo("trainable params: 851,968 || all params: 1,236,666,368 || trainable%: 0.0689");
        assertThat(run("params", "--config", llama, "--method", "ia3").out()).startsWith("trainable params: 147,456 ||");
        assertThat(run("params", "--config", llama, "--method", "prompt", "--num-virtual-tokens", "20").out()).startsWith("trainable params: 40,960 ||");
        assertThat(run("params", "--config", llama, "--method", "prefix", "--num-virtual-tokens", "20").out()).startsWith("trainable params: 327,680 ||");
        assertThat(run("params", "--config", llama, "--method", "ptuning", "--num-virtual-tokens", "20").out()).startsWith("trainable params: 12,630,016 ||");
        assertThat(run("params", "--config", llama, "--method", "adapter", "--adapter-config", "pfeiffer").out()).startsWith("trainable params: 8,423,424 ||");
        assertThat(run("params", "--config", llama, "--method", "full").out()).startsWith("trainable params: 1,235,814,400 || all params: 1,235,814,400");
        Result bad = run("params", "--config", llama, "--method", "lora", "--target-modules", "c_attn");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("match no linear layer").contains("q_proj");
    }

    /** {@code peft generate} runs the Llama family through the same decoder interface: greedy follows the reference's argmax. */
    @Test
    void generateRunsLlama(@TempDir Path tmp) throws Exception {
        Path src = RES.resolve("fixtures/llama-tiny");
        Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
        Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        // ids 0..93 are '!'..'~', 94 'Ġ', 95 'Ċ'; the other byte symbols after them (a byte-level vocabulary holds all 256)
        var vocab = new java.util.LinkedHashMap<String, Integer>();
        for (int i = 0; i < 94; i++) vocab.put(String.valueOf((char) ('!' + i)), i);
        vocab.put("Ġ", 94);
        vocab.put("Ċ", 95);
        for (int b = 0xA1; b <= 0xFF; b++) if (b != 0xAD) vocab.put(String.valueOf((char) b), vocab.size());
        for (int n = 0; n < 68; n++) vocab.putIfAbsent(String.valueOf((char) (256 + n)), vocab.size());
        M.writeValue(tmp.resolve("tokenizer.json").toFile(), Map.of("model", Map.of("type", "BPE", "vocab", vocab, "merges", java.util.List.of())));
        String prompt = "Pa~";   // ids 47, 64, 93
        var m = io.peft4j.core.model.Models.load(tmp, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        INDArray l = m.lmLogits(m.forward(io.peft4j.core.model.Batch.of(new int[]{47, 64, 93}), io.peft4j.core.hooks.ForwardContext.inference(1)).hidden()).value();
        int next = l.slice(0).getRow(2).argMax().getInt(0);
        Result r = run("generate", "--model", tmp.toString(), "--max-new-tokens", "1", "--temperature", "0", prompt);
        assertThat(r.code()).as(r.err()).isZero();
        String expected = next < 94 ? String.valueOf((char) ('!' + next)) : next == 94 ? " " : next == 95 ? "\n" : "";
        if (next < 96) assertThat(r.out().stripTrailing()).isEqualTo((prompt + expected).stripTrailing());
        else assertThat(r.out()).startsWith(prompt);
        Path bert = Files.createDirectories(tmp.resolve("bert"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(RES.resolve("fixtures/bert-tiny").resolve(f), bert.resolve(f));
        var words = new java.util.ArrayList<>(java.util.List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        while (words.size() < 101) words.add("w" + words.size());
        Files.write(bert.resolve("vocab.txt"), words);
        Result encoder = run("generate", "--model", bert.toString(), "w7");
        assertThat(encoder.code()).isEqualTo(1);
        assertThat(encoder.err()).contains("generate needs a decoder model").contains("bert");
    }

    /** The tiny BERT fixture with a word-piece vocabulary, in {@code tmp/bert}, and a two-class task in {@code tmp/train.jsonl}. */
    private static Path tinyBertAndTask(Path tmp) throws Exception {
        Path model = tmp.resolve("bert");
        Files.createDirectories(model);
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(RES.resolve("fixtures/bert-tiny/" + f), model.resolve(f));
        java.util.List<String> vocab = new java.util.ArrayList<>(java.util.List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film"));
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(model.resolve("vocab.txt"), vocab);
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 24; i++) data.append(i % 2 == 0 ? "{\"text\": \"good film w9\", \"label\": \"pos\"}\n" : "{\"text\": \"bad film w11\", \"label\": \"neg\"}\n");
        Files.writeString(tmp.resolve("train.jsonl"), data);
        return model;
    }

    @Test
    void trainSavesAnAdapterAndHeadThatLoadBack(@TempDir Path tmp) throws Exception {
        Path model = tinyBertAndTask(tmp);
        Result r = run("train", "--model", model.toString(), "--data", tmp.resolve("train.jsonl").toString(), "--dev", tmp.resolve("train.jsonl").toString(),
                "--method", "lora", "--r", "4", "--epochs", "8", "--batch-size", "8", "--lr", "5e-2", "--output", tmp.resolve("out").toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = M.readTree(r.out());
        assertThat(o.get("dev_accuracy").asDouble()).isEqualTo(1.0);
        assertThat(o.get("trainable_params").asLong()).isEqualTo(2L * 2 * 4 * (32 + 32) + 2 * 32 + 2);   // LoRA q,v + head
        assertThat(r.err()).contains("trainable params:");
        assertThat(tmp.resolve("out/adapter_config.json")).exists();
        assertThat(tmp.resolve("out/head_config.json")).exists();
        Result broken = run("train", "--model", model.toString(), "--data", tmp.resolve("nope.jsonl").toString(), "--method", "lora");
        assertThat(broken.err()).contains("nope.jsonl: no such file");
        Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"good\", \"label\": 1}\n{not json\n");
        Result badJson = run("train", "--model", model.toString(), "--data", tmp.resolve("bad.jsonl").toString(), "--method", "lora");
        assertThat(badJson.err()).contains("bad.jsonl").contains("line 2: not JSON").doesNotContain("REDACTED").doesNotContain("start marker");
        String data = tmp.resolve("train.jsonl").toString();
        Result resume = run("train", "--model", model.toString(), "--data", data, "--method", "lora", "--resume");
        assertThat(resume.code()).isEqualTo(1);
        assertThat(resume.err()).contains("--resume needs --checkpoint-dir");
        assertThat(run("train", "--model", model.toString(), "--data", data, "--method", "lora", "--epochs", "0").err())
                .contains("--epochs 0 and --max-steps 0");
        Files.writeString(tmp.resolve("dev.jsonl"), "{\"text\": \"good film\", \"label\": \"neutral\"}\n");
        Result devOnly = run("train", "--model", model.toString(), "--data", data, "--dev", tmp.resolve("dev.jsonl").toString(), "--method", "lora",
                "--max-steps", "1", "--no-progress");
        assertThat(devOnly.code()).as(devOnly.err()).isZero();
        assertThat(devOnly.err()).contains("warning").contains("labels [neutral] do not occur in");
    }

    /** A CSV of text pairs with a label map trains to the labels the map names; bad data options are one-line errors. */
    @Test
    void trainReadsCsvTextPairsWithALabelMap(@TempDir Path tmp) throws Exception {
        Path model = tinyBertAndTask(tmp);
        StringBuilder csv = new StringBuilder("id,first,second,gold\n");
        for (int i = 0; i < 24; i++) csv.append(i).append(i % 2 == 0 ? ",\"good, film\",w9,1\n" : ",\"bad, film\",w11,0\n");
        Path pairs = tmp.resolve("pairs.csv");
        Files.writeString(pairs, csv);
        String m = model.toString(), d = pairs.toString();
        Result r = run("train", "--model", m, "--data", d, "--dev", d, "--text-field", "first, second", "--label-field", "gold",
                "--label-map", "0=negative,1=positive", "--method", "lora", "--r", "4", "--epochs", "8", "--batch-size", "8", "--lr", "5e-2",
                "--output", tmp.resolve("out").toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(M.readTree(r.out()).get("dev_accuracy").asDouble()).isEqualTo(1.0);
        JsonNode head = M.readTree(tmp.resolve("out/head_config.json").toFile());
        assertThat(head.get("id2label").get("0").asText()).isEqualTo("negative");
        assertThat(head.get("id2label").get("1").asText()).isEqualTo("positive");

        assertThat(run("train", "--model", m, "--data", d, "--text-field", "a,b,c", "--method", "lora").err())
                .contains("peft train: error: --text-field: one field, or two comma-separated fields for a text pair, not 'a,b,c'");
        assertThat(run("train", "--model", m, "--data", d, "--label-map", "0", "--method", "lora").err())
                .contains("--label-map: expected RAW=NAME pairs");
        assertThat(run("train", "--model", m, "--data", d, "--truncation", "middle", "--method", "lora").err())
                .contains("--truncation: 'middle' is not end or start");
        Result unmapped = run("train", "--model", m, "--data", d, "--text-field", "first,second", "--label-field", "gold", "--label-map", "1=positive",
                "--method", "lora");
        assertThat(unmapped.code()).isEqualTo(1);
        assertThat(unmapped.err()).contains(d + ": line 3 (record 2): label '0' is not in the label map (it maps 1)");
        Result noField = run("train", "--model", m, "--data", d, "--label-field", "gold", "--method", "lora");
        assertThat(noField.err()).contains(d + ": line 2 (record 1): no field 'text' (the line has: id, first, second, gold)");
    }

    /** A built-in dataset by name: its train split, its own text pair, its labels; its dev split for --dev. */
    @Test
    void trainOnABuiltinDatasetByName(@TempDir Path tmp) throws Exception {
        Path model = tinyBertAndTask(tmp);
        // the first 40 training messages are all ham: one label is not a task
        Result oneLabel = run("train", "--model", model.toString(), "--data", "spam", "--limit", "40", "--method", "lora");
        assertThat(oneLabel.code()).isEqualTo(1);
        assertThat(oneLabel.err()).contains("spam: field 'label' has fewer than two distinct values");
        Result r = run("train", "--model", model.toString(), "--data", "spam", "--dev", "spam", "--method", "lora", "--r", "2", "--max-steps", "2",
                "--max-length", "24", "--batch-size", "4", "--output", tmp.resolve("spam-out").toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(M.readTree(r.out()).get("steps").asLong()).isEqualTo(2);
        JsonNode head = M.readTree(tmp.resolve("spam-out/head_config.json").toFile());
        assertThat(head.get("id2label").get("0").asText()).isEqualTo("ham");
        assertThat(head.get("id2label").get("1").asText()).isEqualTo("spam");
        Result typo = run("train", "--model", model.toString(), "--data", "spma", "--method", "lora");
        assertThat(typo.err()).contains("spma: no such file, nor a built-in dataset (afinn-sentiment, name-gender, opinion-words, sotu, spam, stopword-language)");
        Result list = run("datasets", "--json");
        assertThat(list.code()).as(list.err()).isZero();
        String[] lines = list.out().strip().split("\n");
        assertThat(lines).hasSize(6);
        JsonNode spam = M.readTree(lines[4]);
        assertThat(spam.get("name").asText()).isEqualTo("spam");
        assertThat(M.convertValue(spam.get("text_fields"), String[].class)).containsExactly("subject", "text");
        assertThat(spam.get("licence").asText()).contains("SpamAssassin");
    }

    /** Full fine-tuning saves a model directory: weights as Hugging Face lays them out, tokenizer, head; it serves as --model. */
    @Test
    void trainFullSavesAModelDirectoryThatServesAsModel(@TempDir Path tmp) throws Exception {
        Path model = tinyBertAndTask(tmp), out = tmp.resolve("full");
        Result r = run("train", "--model", model.toString(), "--data", tmp.resolve("train.jsonl").toString(), "--dev", tmp.resolve("train.jsonl").toString(),
                "--method", "full", "--epochs", "6", "--batch-size", "8", "--lr", "1e-2", "--output", out.toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(M.readTree(r.out()).get("dev_accuracy").asDouble()).isEqualTo(1.0);
        for (String f : new String[]{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "head_config.json", "head.safetensors"}) {
            assertThat(out.resolve(f)).as(f).exists();
        }
        Result before = run("logits", "--model", model.toString(), "--ids", "2,5,7,3", "--json");
        Result after = run("logits", "--model", out.toString(), "--ids", "2,5,7,3", "--json");
        assertThat(after.code()).as(after.err()).isZero();
        JsonNode h0 = M.readTree(before.out()).get("hidden"), h1 = M.readTree(after.out()).get("hidden");
        assertThat(h1.size()).isEqualTo(4);
        assertThat(Math.abs(h1.get(0).get(0).asDouble() - h0.get(0).get(0).asDouble())).isGreaterThan(1e-4);   // trained weights, not the original
        Result again = run("train", "--model", out.toString(), "--data", tmp.resolve("train.jsonl").toString(), "--method", "lora", "--max-steps", "2", "--no-progress");
        assertThat(again.code()).as(again.err()).isZero();
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
        Path model = MergeCommandTest.gpt2WithTokenizer(tmp);
        JsonNode exp = M.readTree(src.resolve("expected.json").toFile());
        JsonNode last = exp.get("logits").get(6);
        int argmax = 0;
        for (int j = 1; j < last.size(); j++) if (last.get(j).asDouble() > last.get(argmax).asDouble()) argmax = j;
        String prompt = "fask).p";   // ids 69,64,82,74,8,13,79 in this vocabulary
        Result r = run("generate", "--model", model.toString(), "--max-new-tokens", "1", "--temperature", "0", prompt);
        assertThat(r.code()).as(r.err()).isZero();
        String expectedNext = argmax < 94 ? String.valueOf((char) ('!' + argmax)) : argmax == 94 ? " " : argmax == 95 ? "\n" : "";
        assertThat(r.out().stripTrailing()).isEqualTo((prompt + expectedNext).stripTrailing());
        Result sampled1 = run("generate", "--model", model.toString(), "--max-new-tokens", "8", "--temperature", "1.0", "--seed", "7", prompt);
        Result sampled2 = run("generate", "--model", model.toString(), "--max-new-tokens", "8", "--temperature", "1.0", "--seed", "7", prompt);
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
