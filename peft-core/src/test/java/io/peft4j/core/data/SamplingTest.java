package io.peft4j.core.data;

import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Stratified k-shot samples and subsets: exact counts, reproducibility against java.util.Random's specified sequence, errors. */
class SamplingTest {
    /** Records 0..n-1 with the given labels, line = index + 1. */
    static List<TextRecord> records(String... labels) {
        List<TextRecord> out = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) out.add(new TextRecord(Map.of("text", "t" + i), labels[i], "mem.jsonl", i + 1));
        return out;
    }

    static List<Long> lines(List<TextRecord> rs) {
        return rs.stream().map(TextRecord::line).toList();
    }

    static final String[] TWELVE = {"a", "b", "a", "c", "a", "b", "a", "c", "a", "b", "a", "c"};

    @Test
    void kShotMatchesJavaUtilRandomsSpecifiedSequence() {
        // Expected indices from a separate implementation of java.util.Random's LCG (seed scrambled with
        // 0x5DEECE66D, nextInt(bound) as its Javadoc specifies) in Python, following the documented procedure:
        // labels in sorted order, a partial Fisher-Yates over each label's indices, picks in input order.
        List<TextRecord> rs = records(TWELVE);
        assertThat(lines(Sampling.kShot(rs, 2, 42))).containsExactly(2L, 4L, 5L, 6L, 9L, 12L);   // indices 1,3,4,5,8,11
        assertThat(lines(Sampling.kShot(rs, 2, 7))).containsExactly(2L, 4L, 6L, 8L, 9L, 11L);    // indices 1,3,5,7,8,10
    }

    @Test
    void kShotGivesExactlyKPerLabelReproducibly() {
        List<TextRecord> rs = records(TWELVE);
        for (long seed = 0; seed < 20; seed++) {
            List<TextRecord> s = Sampling.kShot(rs, 3, seed);
            assertThat(Labels.counts(s)).containsExactly(Map.entry("a", 3), Map.entry("b", 3), Map.entry("c", 3));
            assertThat(new HashSet<>(s)).hasSize(9);
            assertThat(lines(s)).isSorted();
            assertThat(Sampling.kShot(rs, 3, seed)).isEqualTo(s);
        }
        Set<List<Long>> distinct = new HashSet<>();
        for (long seed = 0; seed < 20; seed++) distinct.add(lines(Sampling.kShot(rs, 2, seed)));
        assertThat(distinct.size()).isGreaterThan(5);   // 15 * 3 * 3 = 135 possible samples
    }

    @Test
    void kShotLargerThanAClassIsAClearError() {
        List<TextRecord> rs = records(TWELVE);
        assertThatThrownBy(() -> Sampling.kShot(rs, 4, 1)).isInstanceOf(PeftException.class)
                .hasMessage("mem.jsonl: 4-shot sample: label 'b' has only 3 records (per label: a 6, b 3, c 3)");
        assertThatThrownBy(() -> Sampling.kShot(rs, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Sampling.kShot(List.of(), 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stratifiedSubsetKeepsProportionsByLargestRemainder() {
        List<TextRecord> rs = records("a", "a", "a", "a", "a", "b", "b", "b", "c", "c");   // 5 / 3 / 2
        // n = 5: quotas 2.5, 1.5, 1.0 -> floors 2, 1, 1; one left, remainders .5 .5 0, tie to 'a'
        assertThat(Labels.counts(Sampling.stratifiedSubset(rs, 5, 3))).containsExactly(Map.entry("a", 3), Map.entry("b", 1), Map.entry("c", 1));
        // n = 7: quotas 3.5, 2.1, 1.4 -> 3, 2, 1; the one left goes to the largest remainder, 'a'
        assertThat(Labels.counts(Sampling.stratifiedSubset(rs, 7, 3))).containsExactly(Map.entry("a", 4), Map.entry("b", 2), Map.entry("c", 1));
        // n = 4: quotas 2.0, 1.2, 0.8 -> 2, 1, 0; the one left goes to 'c' (.8 > .2)
        assertThat(Labels.counts(Sampling.stratifiedSubset(rs, 4, 3))).containsExactly(Map.entry("a", 2), Map.entry("b", 1), Map.entry("c", 1));
        assertThat(Sampling.stratifiedSubset(rs, 10, 3)).isEqualTo(rs);
        assertThat(Sampling.stratifiedSubset(rs, 5, 9)).isEqualTo(Sampling.stratifiedSubset(rs, 5, 9));
        assertThatThrownBy(() -> Sampling.stratifiedSubset(rs, 11, 3)).isInstanceOf(PeftException.class)
                .hasMessage("mem.jsonl: a subset of 11 records asked from only 10");
    }
}
