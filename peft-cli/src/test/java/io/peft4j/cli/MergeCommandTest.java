package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static io.peft4j.cli.CliTest.M;
import static io.peft4j.cli.CliTest.RES;
import static io.peft4j.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code peft merge}: the merged checkpoint serves as a model with the adapter's logits; bad input leaves nothing behind. */
class MergeCommandTest {
    /**
     * gpt2-tiny with a tokenizer.json, as a model directory of its own. The model's 97 ids: 0..93 are '!'..'~', 94 'Ġ'
     * (space), 95 'Ċ' (newline), 96 {@code <|endoftext|>}; the other byte symbols (GPT-2's bytes_to_unicode) at ids the
     * model never produces, for a byte-level vocabulary must hold all 256.
     */
    static Path gpt2WithTokenizer(Path tmp) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("gpt2-tiny"));
        Files.copy(RES.resolve("fixtures/gpt2-tiny/config.json"), d.resolve("config.json"));
        Files.copy(RES.resolve("fixtures/gpt2-tiny/model.safetensors"), d.resolve("model.safetensors"));
        var vocab = new java.util.LinkedHashMap<String, Integer>();
        for (int i = 0; i < 94; i++) vocab.put(String.valueOf((char) ('!' + i)), i);
        vocab.put("Ġ", 94);
        vocab.put("Ċ", 95);
        vocab.put("<|endoftext|>", 96);
        for (int b = 0xA1; b <= 0xFF; b++) if (b != 0xAD) vocab.put(String.valueOf((char) b), vocab.size());
        for (int n = 0; n < 68; n++) vocab.putIfAbsent(String.valueOf((char) (256 + n)), vocab.size());
        M.writeValue(d.resolve("tokenizer.json").toFile(), Map.of("model", Map.of("type", "BPE", "vocab", vocab, "merges", java.util.List.of())));
        return d;
    }

    @Test
    void mergedLoraServesAsAModelWithTheAdaptersLogits(@TempDir Path tmp) throws Exception {
        Path model = gpt2WithTokenizer(tmp);
        Path out = tmp.resolve("merged");
        CliTest.Result r = run("merge", "--model", model.toString(), "--adapter", RES.resolve("fixtures/gpt2-tiny-lora").toString(), "--output", out.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(M.readTree(r.out()).get("method").asText()).isEqualTo("LORA");
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("config.json", "model.safetensors", "tokenizer.json");
        }
        JsonNode exp = M.readTree(RES.resolve("fixtures/gpt2-tiny/expected.json").toFile());
        CliTest.Result logits = run("logits", "--model", out.toString(), "--ids", "69,64,82,74,8,13,79", "--json");
        assertThat(logits.code()).as(logits.err()).isZero();
        JsonNode got = M.readTree(logits.out()).get("logits"), want = exp.get("lora_logits");
        for (int t = 0; t < 7; t++) {
            for (int v = 0; v < 97; v++) assertThat(got.get(t).get(v).asDouble()).isCloseTo(want.get(t).get(v).asDouble(), within(1e-4));
        }
        CliTest.Result tok = run("tokenize", "--model", out.toString(), "--json", "ab c");
        assertThat(M.readTree(tok.out()).get("ids").toString()).isEqualTo("[64,65,94,66]");
    }

    @Test
    void adaptersThatCannotMergeAndOutputOverTheInputAreRefused(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("merged");
        CliTest.Result prefix = run("merge", "--model", RES.resolve("fixtures/gpt2-tiny").toString(), "--adapter",
                RES.resolve("fixtures/gpt2-tiny-prefix").toString(), "--output", out.toString());
        assertThat(prefix.code()).isEqualTo(1);
        assertThat(prefix.err()).contains("PREFIX_TUNING").contains("cannot be merged").doesNotContain("\tat ");
        assertThat(out).doesNotExist();
        Path model = gpt2WithTokenizer(tmp);
        CliTest.Result over = run("merge", "--model", model.toString(), "--adapter", RES.resolve("fixtures/gpt2-tiny-lora").toString(), "--output", model.toString());
        assertThat(over.code()).isEqualTo(1);
        assertThat(over.err()).contains("is the model directory");
        assertThat(model.resolve("model.safetensors")).exists();
        // a folder above the model (here, the one holding both the model and a copy of the adapter) would be replaced whole
        Path adapter = Files.createDirectories(tmp.resolve("lora"));
        for (String f : new String[]{"adapter_config.json", "adapter_model.safetensors"}) Files.copy(RES.resolve("fixtures/gpt2-tiny-lora/" + f), adapter.resolve(f));
        CliTest.Result above = run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output", tmp.toString());
        assertThat(above.code()).isEqualTo(1);
        assertThat(above.err()).contains("--output " + tmp + " holds the model directory").doesNotContain("\tat ");
        assertThat(model.resolve("model.safetensors")).exists();
        assertThat(adapter.resolve("adapter_model.safetensors")).exists();
    }
}
