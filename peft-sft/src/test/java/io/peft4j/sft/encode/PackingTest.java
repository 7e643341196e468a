package io.peft4j.sft.encode;

import io.peft4j.core.train.Example;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PackingTest {
    private static Example.Lm example(int n, int base) {
        int[] ids = new int[n], mask = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = base + i;
            mask[i] = i >= n / 2 ? 1 : 0;
        }
        return new Example.Lm(ids, mask);
    }

    /** Lengths 5, 3, 7, 2, 4 into rows of 8, first-fit decreasing by hand: [7], [5, 3], [4, 2]. */
    @Test
    void firstFitDecreasingWithSegmentsPositionsAndMasks() {
        List<Example.Lm> ex = new ArrayList<>();
        int[] lengths = {5, 3, 7, 2, 4};
        for (int i = 0; i < lengths.length; i++) ex.add(example(lengths[i], 100 * i));
        List<Packing.Row> rows = Packing.pack(ex, 8);
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0).examples()).containsExactly(2);
        assertThat(rows.get(1).examples()).containsExactly(0, 1);
        assertThat(rows.get(2).examples()).containsExactly(4, 3);
        Packing.Row r = rows.get(1);
        assertThat(r.ids()).containsExactly(0, 1, 2, 3, 4, 100, 101, 102);
        assertThat(r.segments()).containsExactly(1, 1, 1, 1, 1, 2, 2, 2);
        assertThat(r.positions()).containsExactly(0, 1, 2, 3, 4, 0, 1, 2);
        // example 0's mask 0 0 1 1 1; example 1's 0 1 1 with its first token (predicted from example 0) unmasked
        assertThat(r.lossMask()).containsExactly(0, 0, 1, 1, 1, 0, 1, 1);
        boolean[][] m = r.attentionMask();
        assertThat(m[6][5]).isTrue();
        assertThat(m[6][4]).isFalse();      // never across examples
        assertThat(m[4][0]).isTrue();
        assertThat(m[3][4]).isFalse();      // causal
        assertThat(r.attends(7, 5)).isTrue();
        assertThat(r.attends(5, 4)).isFalse();
        int total = rows.stream().mapToInt(Packing.Row::length).sum();
        assertThat(total).isEqualTo(21);
        assertThatThrownBy(() -> Packing.pack(List.of(example(9, 0)), 8)).hasMessageContaining("more than the row length 8");
    }

    /** An example longer than the row follows the length policy: cut (as the encoder cuts it) or skipped, never an error. */
    @Test
    void longerExamplesFollowTheLengthPolicy() {
        List<Example.Lm> ex = List.of(example(3, 0), example(12, 100), example(5, 200));      // 12 > 8: mask 0 x6, 1 x6
        Packing.Packed cut = Packing.pack(ex, 8, LengthPolicy.CUT_END);
        assertThat(cut.truncated()).isEqualTo(1);
        assertThat(cut.skipped()).isZero();
        assertThat(cut.rows().get(0).ids()).containsExactly(100, 101, 102, 103, 104, 105, 106, 107);
        assertThat(cut.rows().get(0).examples()).containsExactly(1);
        assertThat(cut.rows().get(1).examples()).containsExactly(2, 0);
        // cut-prompt-start leaves half the window to the prompt's end: its last 4 tokens, the response's first 4
        Packing.Packed keep = Packing.pack(ex, 8, LengthPolicy.CUT_PROMPT_START);
        assertThat(keep.truncated()).isEqualTo(1);
        assertThat(keep.rows().get(0).ids()).containsExactly(102, 103, 104, 105, 106, 107, 108, 109);
        assertThat(keep.rows().get(0).lossMask()).containsExactly(0, 0, 0, 0, 1, 1, 1, 1);
        Packing.Packed drop = Packing.pack(ex, 8, LengthPolicy.DROP);
        assertThat(drop.skipped()).isEqualTo(1);
        assertThat(drop.rows()).hasSize(1);
        assertThat(drop.rows().get(0).examples()).containsExactly(2, 0);
        Example.Lm row = drop.examples().get(0);
        assertThat(row.segments()).containsExactly(1, 1, 1, 1, 1, 2, 2, 2);
        assertThat(Packing.pack(List.of(example(12, 0)), 8, LengthPolicy.DROP).rows()).isEmpty();
    }
}
