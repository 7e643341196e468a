package io.peft4j.core.data;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Label order, counts and the majority answer, on hand-made records. */
class LabelsTest {
    private static List<TextRecord> records(String... labels) {
        return java.util.stream.IntStream.range(0, labels.length)
                .mapToObj(i -> new TextRecord(Map.of("text", "r" + i), labels[i], "test", i + 1)).toList();
    }

    @Test
    void countsAreByLabelInSortedOrder() {
        assertThat(Labels.counts(records("b", "a", "c", "b")).entrySet()).extracting(Map.Entry::getKey).containsExactly("a", "b", "c");
        assertThat(Labels.counts(records("b", "a", "c", "b"))).containsEntry("b", 2).containsEntry("a", 1).containsEntry("c", 1);
        assertThat(Labels.of(records("spam", "ham", "spam"))).containsExactly("ham", "spam");
    }

    @Test
    void theMostFrequentLabelBreaksTiesByLabelOrder() {
        assertThat(Labels.mostFrequent(records("b", "b", "a"))).isEqualTo("b");
        assertThat(Labels.mostFrequent(records("b", "a", "b", "a", "c"))).isEqualTo("a");      // a and b tie: the first in sorted order
        assertThat(Labels.mostFrequent(records("z", "y", "x"))).isEqualTo("x");
        assertThatThrownBy(() -> Labels.mostFrequent(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
