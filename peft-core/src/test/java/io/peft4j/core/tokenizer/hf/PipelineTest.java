package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Small synthetic tokenizer.json files whose results are worked out by hand from Hugging Face's definitions. */
class PipelineTest {
    static JsonNode parse(String json) {
        return Json.parse("test", json.replace('\'', '"'));
    }

    static HfTokenizer tok(String json) {
        return HfTokenizer.fromJson("tokenizer.json", parse(json), null);
    }

    /** A SentencePiece-style BPE: Metaspace, byte fallback, merges ▁ a -> ▁a, ▁a b -> ▁ab. */
    static String sentencePiece(String prependScheme) {
        StringBuilder v = new StringBuilder("{'<unk>': 0, '<s>': 1, '</s>': 2");
        for (int b = 0; b < 256; b++) v.append(String.format(", '<0x%02X>': %d", b, 3 + b));
        v.append(", '\u2581': 259, 'a': 260, 'b': 261, '\u2581a': 262, '\u2581ab': 263}");
        return "{'added_tokens': [{'id': 1, 'content': '<s>', 'special': true, 'normalized': false}],"
                + " 'pre_tokenizer': {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': '" + prependScheme + "', 'split': true},"
                + " 'post_processor': {'type': 'TemplateProcessing', 'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],"
                + "   'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}, {'Sequence': {'id': 'B', 'type_id': 1}}],"
                + "   'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},"
                + " 'decoder': {'type': 'Sequence', 'decoders': [{'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': '" + prependScheme + "'},"
                + "   {'type': 'ByteFallback'}, {'type': 'Fuse'}]},"
                + " 'model': {'type': 'BPE', 'unk_token': '<unk>', 'byte_fallback': true, 'fuse_unk': true, 'vocab': " + v + ", 'merges': ['\u2581 a', '\u2581a b']}}";
    }

    @Test
    void metaspaceByteFallbackAndTemplate() {
        HfTokenizer t = tok(sentencePiece("first"));
        // "ab a": prepend ▁ (first piece) -> "▁ab▁a" -> pieces ▁ab, ▁a
        assertThat(t.encodeText("ab a")).containsExactly(263, 262);
        // "é" is not in the vocabulary: its UTF-8 bytes C3 A9 as <0xC3> <0xA9> (ids 3 + byte)
        assertThat(t.encodeText("é")).containsExactly(259, 3 + 0xC3, 3 + 0xA9);
        assertThat(t.decode(t.encodeText("ab é"), false)).isEqualTo("ab é");
        // prepend_scheme first: the piece after an added token gets no ▁
        assertThat(t.encodeText("<s>ab")).containsExactly(1, 260, 261);
        assertThat(tok(sentencePiece("always")).encodeText("<s>ab")).containsExactly(1, 263);
        assertThat(tok(sentencePiece("never")).encodeText("ab")).containsExactly(260, 261);
        // TemplateProcessing: <s> A, pair <s> A B with type ids 0 0 1
        assertThat(t.encode("a").ids()).containsExactly(1, 262);
        var pair = t.encode("a", "b", 100);
        assertThat(pair.ids()).containsExactly(1, 262, 259, 261);
        assertThat(pair.typeIds()).containsExactly(0, 0, 1, 1);
        assertThat(t.specialTokenCount(false)).isEqualTo(1);
        // invalid UTF-8 bytes decode to one U+FFFD per byte token; skipping special tokens drops <s>
        assertThat(t.decode(new int[]{3 + 0xC3, 260}, false)).isEqualTo("\uFFFDa");
        assertThat(t.decode(new int[]{1, 262}, true)).isEqualTo("a");
        assertThat(t.decode(new int[]{1, 262}, false)).isEqualTo("<s> a");
    }

    /** Byte-level BPE with a Split regex, ignore_merges and added tokens with lstrip / rstrip / single_word / normalized. */
    static String byteLevel(String added, boolean ignoreMerges) {
        ObjectNode vocab = Json.MAPPER.createObjectNode();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]), b);
        String v = vocab.toString().replace("'", "\\u0027").replaceFirst("}$", ", 'ab': 256, 'abc': 257, '\u0120a': 258, 'xyz': 259, '<x>': 260, 'HI': 261}");
        return "{'added_tokens': [" + added + "], 'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'NFC'}]},"
                + " 'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [{'type': 'Split', 'pattern': {'Regex': '\\\\p{N}{1,3}| ?\\\\p{L}+|\\\\s+|[^\\\\s\\\\p{L}\\\\p{N}]+'},"
                + "   'behavior': 'Isolated', 'invert': false}, {'type': 'ByteLevel', 'add_prefix_space': false, 'use_regex': false}]},"
                + " 'post_processor': {'type': 'ByteLevel'}, 'decoder': {'type': 'ByteLevel'},"
                + " 'model': {'type': 'BPE', 'ignore_merges': " + ignoreMerges + ", 'vocab': " + v + ", 'merges': [['a', 'b'], ['ab', 'c'], ['\u0120', 'a']]}}";
    }

    @Test
    void byteLevelSplitAndIgnoreMerges() {
        HfTokenizer t = tok(byteLevel("", false));
        // "abc a 12345": Split pieces abc, " a", " ", 123, 45 -> abc (merges a b, ab c), Ġa, Ġ (byte 32), digits as bytes
        assertThat(t.encodeText("abc a 12345")).containsExactly(257, 258, 32, '1', '2', '3', '4', '5');
        // without ignore_merges "xyz" is three byte symbols (no merges); with it, the piece is itself in the vocabulary
        assertThat(t.encodeText("xyz")).containsExactly('x', 'y', 'z');
        assertThat(tok(byteLevel("", true)).encodeText("xyz")).containsExactly(259);
        // NFC: e + combining acute becomes é (bytes C3 A9, byte symbols 'Ã' '©' have ids 0xC3, 0xA9)
        assertThat(t.encodeText("e\u0301")).containsExactly(0xC3, 0xA9);
        assertThat(t.decode(t.encodeText("héllo 🙂"), false)).isEqualTo("héllo 🙂");
    }

    @Test
    void addedTokensNeverSplitWithTheirFlags() {
        String x = "{'id': 260, 'content': '<x>', 'special': true, 'normalized': false, 'lstrip': true, 'rstrip': true}";
        HfTokenizer t = tok(byteLevel(x, false));
        // lstrip / rstrip: the spaces around <x> belong to it
        assertThat(t.encodeText("ab <x> ab")).containsExactly(256, 260, 256);
        assertThat(t.isSpecial(260)).isTrue();
        assertThat(t.decode(t.encodeText("ab <x> ab"), true)).isEqualTo("abab");
        // single_word: "HI" only as a word of its own
        HfTokenizer w = tok(byteLevel("{'id': 261, 'content': 'HI', 'special': false, 'single_word': true, 'normalized': false}", false));
        assertThat(w.encodeText("HI ab")).startsWith(261);
        assertThat(w.encodeText("aHI")).doesNotContain(261);
        // normalized: matched after NFC, so the decomposed form matches too
        HfTokenizer n = tok(byteLevel("{'id': 261, 'content': '\u00e9', 'special': false, 'normalized': true}", false).replace("'HI': 261", "'\u00e9': 261"));
        assertThat(n.encodeText("e\u0301")).containsExactly(261);
    }

    @Test
    void splitBehaviours() {
        List<String> out = new ArrayList<>();
        for (var b : PreTokenizer.Behavior.values()) {
            List<PreTokenizer.Piece> ps = new ArrayList<>();
            PreTokenizer.split(new PreTokenizer.Piece("the-final--countdown", true), java.util.regex.Pattern.compile("-"), b, false, ps);
            out.add(b + "=" + ps.stream().map(PreTokenizer.Piece::text).toList());
        }
        // Hugging Face's documented example for SplitDelimiterBehavior
        assertThat(out).containsExactly("Removed=[the, final, countdown]", "Isolated=[the, -, final, -, -, countdown]",
                "MergedWithPrevious=[the-, final-, -, countdown]", "MergedWithNext=[the, -final, -, -countdown]", "Contiguous=[the, -, final, --, countdown]");
    }

    @Test
    void gpt2TokenizerJsonThroughThePipelineMatchesTiktoken(@TempDir Path tmp) throws Exception {
        Path gpt2 = Fixtures.resource("tokenizers/gpt2");
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.putArray("added_tokens").addObject().put("id", 50256).put("content", "<|endoftext|>").put("special", true).put("normalized", false);
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel");
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.set("vocab", Json.read(gpt2.resolve("vocab.json")));
        var merges = model.putArray("merges");
        Files.readAllLines(gpt2.resolve("merges.txt")).stream().skip(1).filter(l -> !l.isBlank()).forEach(merges::add);
        Json.write(tmp.resolve("tokenizer.json"), root);
        Tokenizer t = Tokenizers.load(tmp);
        assertThat(t).isInstanceOf(HfTokenizer.class);
        for (JsonNode c : Json.read(gpt2.resolveSibling("gpt2_reference_ids.json"))) {
            String text = c.get("text").asText();
            assertThat(t.encodeText(text)).as(text).containsExactly(Fixtures.ints(c.get("ids")));
            assertThat(t.decode(t.encodeText(text), false)).isEqualTo(text);
        }
        assertThat(t.encodeText("a<|endoftext|>b")).containsExactly(64, 50256, 65);
    }

    @Test
    void unknownTypesAndBadFieldsNameTheFieldAndValue(@TempDir Path tmp) throws Exception {
        String base = sentencePiece("first");
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(base.replace("'pre_tokenizer': {'type': 'Metaspace'", "'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [{'type': 'Metaspace'}, {'type': 'UnicodeScripts'}]}, 'x': {'type': 'Metaspace'"),
                "tokenizer.json: pre_tokenizer.pretokenizers[1].type 'UnicodeScripts' is not supported (supported: Sequence, Split, ByteLevel");
        cases.put(base.replace("'decoder': {'type': 'Sequence', 'decoders': [{'type': 'Metaspace'", "'decoder': {'type': 'Sequence', 'decoders': [{'type': 'CTC'"),
                "tokenizer.json: decoder.decoders[0].type 'CTC' is not supported (supported: Sequence, ByteLevel");
        cases.put(base.replace("'added_tokens'", "'normalizer': {'type': 'Precompiled'}, 'added_tokens'"), "tokenizer.json: normalizer.type 'Precompiled' is not supported");
        cases.put(base.replace("'model': {'type': 'BPE'", "'model': {'type': 'Unigram'"), "tokenizer.json: model.type 'Unigram' is not supported (supported: BPE, WordPiece)");
        cases.put(base.replace("'post_processor': {'type': 'TemplateProcessing'", "'post_processor': {'type': 'Fancy'"), "tokenizer.json: post_processor.type 'Fancy' is not supported");
        cases.put(base.replace("'\u2581a b'", "'\u2581a c'"), "tokenizer.json: model.merges[1] (merge 2): '\u2581a c': 'c' is not in model.vocab");
        cases.put(base.replace("'<0x41>': 68, ", ""), "tokenizer.json: model.vocab: byte_fallback needs all 256 byte tokens <0x00>..<0xFF>, but '<0x41>' is missing");
        cases.put(base.replace("'ids': [1]", "'ids': [9999]"), "tokenizer.json: post_processor.special_tokens.<s>.ids[0]: 9999 is not a token id");
        cases.put(base.replace("'id': 1, 'content': '<s>'", "'id': 2, 'content': '<s>'"), "tokenizer.json: added_tokens[0].id: tokens '</s>' and '<s>' both have id 2");
        cases.put(base.replace("'prepend_scheme': 'first', 'split'", "'prepend_scheme': 'sometimes', 'split'"), "tokenizer.json: pre_tokenizer.prepend_scheme 'sometimes' is not supported (supported: first, always, never)");
        cases.put(base.replace("'model': {", "'normalizer': {'type': 'Replace', 'pattern': {'Regex': '(unclosed'}, 'content': ''}, 'model': {"),
                "tokenizer.json: normalizer.pattern.Regex: regex '(unclosed' does not compile");
        cases.put(base.replace("'<unk>': 0", "'<unk>': 4194304"), "tokenizer.json: model.vocab: token '<unk>' has id 4194304: ids are integers in 0..4194303");
        for (var e : cases.entrySet()) {
            Files.writeString(tmp.resolve("tokenizer.json"), e.getKey().replace('\'', '"'));
            assertThatThrownBy(() -> Tokenizers.load(tmp)).as(e.getValue()).isInstanceOf(PeftException.class)
                    .hasMessageStartingWith(tmp.resolve("tokenizer.json").toString()).hasMessageContaining(e.getValue().substring("tokenizer.json".length()));
        }
    }

    @Test
    void chatTemplateFaultsNameTheFileTemplateAndLine() {
        JsonNode config = parse("{'bos_token': '<s>', 'chat_template': '{% for m in messages %}\\n{{ m.content }}\\n{% if m.role == \\'x\\' %}{{ raise_exception(\\'role x is not allowed\\') }}{% endif %}\\n{% endfor %}'}");
        ChatTemplate chat = ChatTemplate.fromConfig("tokenizer_config.json", config, null);
        assertThat(chat.render(List.of(ChatTemplate.message("user", "hi")), false)).isEqualTo("hi\n");
        assertThatThrownBy(() -> chat.render(List.of(ChatTemplate.message("x", "hi")), false)).isInstanceOf(PeftException.class)
                .hasMessageStartingWith("tokenizer_config.json: chat_template line 3: ").hasMessageContaining("role x is not allowed");
        ChatTemplate bad = ChatTemplate.of("tokenizer_config.json", "line one\n{% if x %}\nunclosed", Map.of());
        assertThatThrownBy(() -> bad.render(List.of(), false)).isInstanceOf(PeftException.class).hasMessageStartingWith("tokenizer_config.json: chat_template line 2: ");
        assertThatThrownBy(() -> ChatTemplate.fromConfig("tokenizer_config.json", parse("{'bos_token': '<s>'}"), null))
                .hasMessage("tokenizer_config.json: chat_template: missing: this tokenizer has no chat template");
    }

    @Test
    void jinjaCompatibility() {
        ChatTemplate t = ChatTemplate.of("t", "{% set ns = namespace(n=messages|length - 1, s='') %}{% for m in messages[::-1] %}{% set ns.s = ns.s + m.content.strip('*').upper()[-1] %}{% endfor %}"
                + "{{ ns.n }} {{ ns.s }} {{ 'a,b,,c'.split(',') | length }} {{ '  x '.lstrip() }}|{{ 'abc'[::2] }} {{ tools | tojson }} {{ {'k': [1, 2.5, none, true]} | tojson(indent=2) }}", Map.of());
        String out = t.render(List.of(ChatTemplate.message("user", "*ab*"), ChatTemplate.message("assistant", "cd")), false,
                Map.of("tools", List.of(Map.of("name", "f \"q\" é"))));
        assertThat(out).isEqualTo("1 DB 4 x |ac [{\"name\": \"f \\\"q\\\" é\"}] {\n  \"k\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}");
    }
}
