package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Mistral (SentencePiece-style BPE), Llama 3 and Qwen3 (byte-level BPE) tokenizers against Hugging Face's own
 * implementation ({@code @huggingface/tokenizers} 0.2.0 on the same files: reference-ids*.jsonl, see PROVENANCE.md).
 */
class HfTokenizerTest {
    static final java.util.Map<String, Tokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    static Tokenizer tok(String name) {
        return LOADED.computeIfAbsent(name, n -> Tokenizers.load(RealTokenizers.dir(n)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"mistral-sp", "llama3", "qwen3"})
    void idsEqualHuggingFaceOnTheGivenReferences(String name) {
        Tokenizer tok = tok(name);
        assertThat(tok).isInstanceOf(HfTokenizer.class);
        List<JsonNode> cases = RealTokenizers.reference(name, "reference-ids.jsonl");
        assertThat(cases).hasSize(9);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            assertThat(tok.encodeText(text)).as("%s: %s", name, text).containsExactly(Fixtures.ints(c.get("ids_no_special")));
            assertThat(tok.encode(text).ids()).as("%s with special tokens: %s", name, text).containsExactly(Fixtures.ints(c.get("ids")));
            assertThat(tok.decode(tok.encodeText(text), false)).as("%s round trip", name).isEqualTo(text);
        }
    }

    /** 128 texts per tokenizer: edge cases (white space, scripts, emoji, marks, added tokens in the text) and 40 e-mails. */
    @ParameterizedTest
    @ValueSource(strings = {"mistral-sp", "llama3", "qwen3"})
    void idsAndDecodingEqualHuggingFaceOnTheExtendedReferences(String name) {
        Tokenizer tok = tok(name);
        List<JsonNode> cases = RealTokenizers.reference(name, "reference-ids-extended.jsonl");
        assertThat(cases).hasSize(128);
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = tok.encodeText(text), expected = Fixtures.ints(c.get("ids_no_special"));
            if (!Arrays.equals(ids, expected)) wrong.add("ids " + text + "\n   got      " + Arrays.toString(ids) + "\n   expected " + Arrays.toString(expected));
            if (!Arrays.equals(tok.encode(text).ids(), Fixtures.ints(c.get("ids")))) wrong.add("ids with special tokens: " + text);
            if (!tok.decode(expected, false).equals(c.get("decoded").asText())) wrong.add("decode: " + text + " -> " + tok.decode(expected, false));
            int[] withSpecial = Fixtures.ints(c.get("ids"));
            if (!tok.decode(withSpecial, true).equals(c.get("decoded_skip_special").asText())) wrong.add("decode skipping special tokens: " + text + " -> " + tok.decode(withSpecial, true));
        }
        assertThat(wrong).as(name).isEmpty();
    }
}
