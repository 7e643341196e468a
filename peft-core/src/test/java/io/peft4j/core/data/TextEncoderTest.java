package io.peft4j.core.data;

import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.WordPieceTokenizer;
import io.peft4j.core.train.Example;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Records to token ids: single texts and BERT pairs, head and tail truncation, hand-computed. */
class TextEncoderTest {
    // ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, a1..a3 5..7, b1..b5 8..12
    static final WordPieceTokenizer TOK = new WordPieceTokenizer(
            List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a1", "a2", "a3", "b1", "b2", "b3", "b4", "b5"), true, true, 100, "vocab");

    static TextRecord rec(String label) {
        return new TextRecord(Map.of("q", "a1 a2 a3", "s", "b1 b2 b3 b4 b5"), label, "pairs.jsonl", 4);
    }

    @Test
    void pairsLoseTokensFromTheLongerSegmentOnTheChosenSide() {
        // max 7 leaves 4 tokens beside [CLS] [SEP] [SEP]: (3,5) -> (3,4) -> (3,3) -> tie, b -> (3,2) -> (2,2)
        Encoding head = new TextEncoder(TOK, List.of("q", "s"), 7, Truncation.END).encode(rec("x"));
        assertThat(head.ids()).containsExactly(2, 5, 6, 3, 8, 9, 3);
        assertThat(head.typeIds()).containsExactly(0, 0, 0, 0, 1, 1, 1);
        assertThat(head.ids()).containsExactly(TOK.encode("a1 a2 a3", "b1 b2 b3 b4 b5", 7).ids());
        Encoding tail = new TextEncoder(TOK, List.of("q", "s"), 7, Truncation.START).encode(rec("x"));
        assertThat(tail.ids()).containsExactly(2, 6, 7, 3, 11, 12, 3);
        assertThat(tail.typeIds()).containsExactly(0, 0, 0, 0, 1, 1, 1);
        // room for everything: nothing dropped
        assertThat(new TextEncoder(TOK, List.of("q", "s"), 11, Truncation.START).encode(rec("x")).ids())
                .containsExactly(2, 5, 6, 7, 3, 8, 9, 10, 11, 12, 3);
    }

    @Test
    void singleTextsKeepTheirHeadOrTail() {
        assertThat(new TextEncoder(TOK, List.of("s"), 5, Truncation.END).encode(rec("x")).ids()).containsExactly(2, 8, 9, 10, 3);
        assertThat(new TextEncoder(TOK, List.of("s"), 5, Truncation.START).encode(rec("x")).ids()).containsExactly(2, 10, 11, 12, 3);
        assertThatThrownBy(() -> new TextEncoder(TOK, List.of("q", "s"), 3, Truncation.END)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void classificationIndexesTheLabelList() {
        List<Example.Classification> ex = new TextEncoder(TOK, List.of("q"), 16, Truncation.END)
                .classification(List.of(rec("pos"), rec("neg")), List.of("neg", "pos"));
        assertThat(ex).extracting(Example.Classification::label).containsExactly(1, 0);
        assertThat(ex.get(0).ids()).containsExactly(2, 5, 6, 7, 3);
        assertThat(ex.get(0).tokenTypes()).containsExactly(0, 0, 0, 0, 0);
        assertThatThrownBy(() -> new TextEncoder(TOK, List.of("q"), 16, Truncation.END).classification(List.of(rec("maybe")), List.of("neg", "pos")))
                .isInstanceOf(PeftException.class).hasMessage("pairs.jsonl: line 4: label 'maybe' is not one of the labels [neg, pos]");
        assertThatThrownBy(() -> new TextEncoder(TOK, List.of("body"), 16, Truncation.END).encode(rec("x")))
                .isInstanceOf(PeftException.class).hasMessageStartingWith("pairs.jsonl: line 4: no field 'body'");
    }
}
