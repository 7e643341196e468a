package io.peft4j.core.data;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The mixture's weights against FLAN's rule computed by hand, and its draws against its weights. */
class MixtureTest {
    private static Map<String, Integer> sizes() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("a", 500);
        m.put("b", 2000);
        m.put("c", 6000);      // capped at 3000
        m.put("d", 100);
        return m;
    }

    @Test
    void weightsAreProportionalToTheCappedSizes() {
        Mixture m = Mixture.of(sizes(), 3000, 1.0);
        // r = 500, 2000, 3000, 100; sum 5600
        assertThat(m.weight("a")).isCloseTo(500 / 5600.0, within(1e-15));
        assertThat(m.weight("b")).isCloseTo(2000 / 5600.0, within(1e-15));
        assertThat(m.weight("c")).isCloseTo(3000 / 5600.0, within(1e-15));
        assertThat(m.weight("d")).isCloseTo(100 / 5600.0, within(1e-15));
        assertThat(m.tasks()).containsExactly("a", "b", "c", "d");
    }

    @Test
    void temperatureTakesTheRoot() {
        Mixture m = Mixture.of(sizes(), 3000, 2.0);
        double s = Math.sqrt(500) + Math.sqrt(2000) + Math.sqrt(3000) + Math.sqrt(100);
        assertThat(m.weight("a")).isCloseTo(Math.sqrt(500) / s, within(1e-15));
        assertThat(m.weight("c")).isCloseTo(Math.sqrt(3000) / s, within(1e-15));
        assertThat(m.weight("d")).isCloseTo(10 / s, within(1e-15));
        // a cap above every size changes nothing: proportional to the sizes themselves
        assertThat(Mixture.of(sizes(), 100_000, 1.0).weight("c")).isCloseTo(6000 / 8600.0, within(1e-15));
    }

    /**
     * 200,000 draws: Pearson's chi-square statistic against the weights stays below the 0.999 quantile of chi-square
     * with 3 degrees of freedom (16.27), and every task's share is within 0.4 percentage points of its weight.
     */
    @Test
    void drawsFollowTheWeights() {
        Mixture m = Mixture.of(sizes(), 3000, 1.0);
        int n = 200_000;
        int[] draws = m.sample(n, 20240611L);
        long[] counts = new long[4];
        for (int d : draws) counts[d]++;
        double chi2 = 0;
        for (int i = 0; i < 4; i++) {
            double expected = n * m.weight(m.tasks().get(i));
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
            assertThat(counts[i] / (double) n).as(m.tasks().get(i)).isCloseTo(m.weight(m.tasks().get(i)), within(0.004));
        }
        assertThat(chi2).isLessThan(16.27);
        assertThat(m.sample(1000, 5)).isEqualTo(m.sample(1000, 5));              // seeded
        assertThat(m.sample(1000, 5)).isNotEqualTo(m.sample(1000, 6));
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> Mixture.of(Map.of(), 3000, 1)).hasMessageContaining("no tasks");
        assertThatThrownBy(() -> Mixture.of(Map.of("a", 0), 3000, 1)).hasMessageContaining("task 'a' has no training examples");
        assertThatThrownBy(() -> Mixture.of(Map.of("a", 5), 0, 1)).hasMessageContaining("cap must be positive");
        assertThatThrownBy(() -> Mixture.of(Map.of("a", 5), 10, 0)).hasMessageContaining("temperature must be positive");
    }
}
