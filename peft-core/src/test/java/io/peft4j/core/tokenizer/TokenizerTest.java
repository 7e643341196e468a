package io.peft4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenizerTest {
    static Path gpt2Dir() {
        return Fixtures.resource("tokenizers/gpt2");
    }

    @Test
    void gpt2IdsMatchTheIndependentReferenceAndRoundTrip() {
        Tokenizer tok = Tokenizers.load(gpt2Dir());
        JsonNode cases = Json.read(gpt2Dir().resolveSibling("gpt2_reference_ids.json"));
        assertThat(cases.size()).isGreaterThan(10);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = tok.encodeText(text);
            assertThat(ids).as(text).containsExactly(Fixtures.ints(c.get("ids")));
            assertThat(tok.decode(ids, false)).isEqualTo(text);
        }
        assertThat(tok.encode("Hello world").ids()).containsExactly(15496, 995);   // GPT-2 adds no special tokens
        assertThat(tok.encodeText("<|endoftext|>")).containsExactly(50256);
    }

    @Test
    void gpt2FromTokenizerJsonMatchesVocabAndMerges(@TempDir Path tmp) throws Exception {
        var root = Json.MAPPER.createObjectNode();
        var model = root.putObject("model");
        model.put("type", "BPE");
        model.set("vocab", Json.read(gpt2Dir().resolve("vocab.json")));
        var merges = model.putArray("merges");
        Files.readAllLines(gpt2Dir().resolve("merges.txt")).stream().skip(1).filter(l -> !l.isBlank()).forEach(merges::add);
        Json.write(tmp.resolve("tokenizer.json"), root);
        Tokenizer a = Tokenizers.load(tmp), b = Tokenizers.load(gpt2Dir());
        String text = "Tokenizers agree on 123 emoji 🎉 and  spaces";
        assertThat(a.encodeText(text)).containsExactly(b.encodeText(text));
    }

    /** The WordPiece example of the BERT paper's tokenizer documentation: "unaffable" -> un ##aff ##able. */
    @Test
    void wordPieceGreedyLongestMatch() {
        WordPieceTokenizer t = new WordPieceTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "runn", "##ing",
                "hello", ",", "!", "the", "cafe", "中", "国"), true, true, 100, "test");
        assertThat(tokens(t, "unaffable")).containsExactly("un", "##aff", "##able");
        assertThat(tokens(t, "UNAFFABLE running!")).containsExactly("un", "##aff", "##able", "runn", "##ing", "!");
        assertThat(tokens(t, "Héllo,\tthe\u00a0CAFÉ")).containsExactly("hello", ",", "the", "cafe");
        assertThat(tokens(t, "中国")).containsExactly("中", "国");
        assertThat(tokens(t, "unknownword")).containsExactly("[UNK]");
        assertThat(tokens(t, "the [MASK] !")).containsExactly("the", "[MASK]", "!");
        assertThat(tokens(t, "a".repeat(101))).containsExactly("[UNK]");
        Encoding pair = t.encode("hello", "the cafe", 512);
        assertThat(pair.tokens()).containsExactly("[CLS]", "hello", "[SEP]", "the", "cafe", "[SEP]");
        assertThat(pair.typeIds()).containsExactly(0, 0, 0, 1, 1, 1);
        Encoding cut = t.encode("hello hello hello", "the the", 6);
        assertThat(cut.tokens()).containsExactly("[CLS]", "hello", "hello", "[SEP]", "the", "[SEP]");
        List<Encoding> batch = t.encodeBatch(List.of("hello", "hello the cafe"), 16);
        assertThat(batch.get(0).ids()).hasSize(5).endsWith(0, 0);
        assertThat(batch.get(0).attentionMask()).containsExactly(1, 1, 1, 0, 0);
        assertThat(t.decode(t.encode("unaffable running!").ids(), true)).isEqualTo("unaffable running!");
    }

    private static List<String> tokens(WordPieceTokenizer t, String text) {
        return java.util.Arrays.stream(t.encodeText(text)).mapToObj(t::idToToken).toList();
    }

    @Test
    void malformedTokenizerFilesNameTheFileAndFault(@TempDir Path tmp) throws Exception {
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(bad.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}");
        assertThatThrownBy(() -> Tokenizers.load(bad)).isInstanceOf(PeftException.class).hasMessageContaining("tokenizer.json").hasMessageContaining("merge 1");
        Files.writeString(bad.resolve("tokenizer.json"), "{\"model\": ");
        assertThatThrownBy(() -> Tokenizers.load(bad)).isInstanceOf(PeftException.class).hasMessageContaining("tokenizer.json").hasMessageContaining("malformed JSON");
        Path v = Files.createDirectories(tmp.resolve("vocab"));
        Files.writeString(v.resolve("vocab.txt"), "hello\nworld\n");
        assertThatThrownBy(() -> Tokenizers.load(v)).isInstanceOf(PeftException.class).hasMessageContaining("vocab.txt").hasMessageContaining("[CLS]");
        Path m = Files.createDirectories(tmp.resolve("merges"));
        Files.writeString(m.resolve("vocab.json"), "[1, 2]");
        Files.writeString(m.resolve("merges.txt"), "#version: 0.2\n");
        assertThatThrownBy(() -> Tokenizers.load(m)).isInstanceOf(PeftException.class).hasMessageContaining("vocab.json");
        assertThatThrownBy(() -> Tokenizers.load(tmp)).isInstanceOf(PeftException.class).hasMessageContaining("no tokenizer found");
    }
}
