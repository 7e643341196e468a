package io.peft4j.demo;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** Where the chart's point labels go: never over another point's marker, never over another label. */
class ReportsTest {
    private static final double MARKER_PX = 6, CHAR_PX = 7.2;

    @Test
    void aLabelThatWouldCoverTheNextPointMovesALabelHeightDown() {
        double dy = 0.01;
        // 100 px a decade: a 10-character label is 0.72 decades wide and starts 0.09 right of its point, so the label of
        // the point at x 1 (log 0) would run over the point at x 2 (log 0.301) at the same height
        double[][] at = Reports.placeLabels(new double[]{1, 2}, new double[]{0.9, 0.9}, new int[]{10, 10}, 0.1, 100, 100, dy);
        assertThat(at[0]).containsExactly(new double[]{0.09, 0.81, 0.9 - dy}, offset(1e-12));
        assertThat(at[1]).containsExactly(new double[]{Math.log10(2) + 0.09, Math.log10(2) + 0.81, 0.9}, offset(1e-12));
    }

    @Test
    void aLabelAtTheRightEdgeGoesLeftOfItsPoint() {
        double[][] at = Reports.placeLabels(new double[]{50}, new double[]{0.9}, new int[]{10}, 0.1, 100, 100, 0.01);
        assertThat(at[0]).containsExactly(new double[]{Math.log10(50) - 0.81, Math.log10(50) - 0.09, 0.9}, offset(1e-12));
    }

    @Test
    void theAfinnSentimentRunsLabelsCoverNoPointAndNoLabel() {
        // the --full afinn-sentiment run's methods (docs/results/demo/afinn-sentiment): trainable %, dev accuracy, title
        double[] xs = {0.0014, 0.015, 0.060, 0.27, 0.34, 0.81, 1.60, 100};
        double[] ys = {0.9378, 0.9622, 0.9514, 0.9541, 0.9649, 0.9703, 0.9405, 0.9784};
        String[] titles = {"linear probe", "prompt tuning", "IA3", "LoRA", "prefix tuning", "adapter (Pfeiffer)", "P-tuning", "full fine-tuning"};
        int[] chars = new int[titles.length];
        for (int i = 0; i < titles.length; i++) chars[i] = titles[i].length();
        double lo = xs[0] / 3, hi = 300, decade = (1000 - 140) / Math.log10(hi / lo), dy = (1.01 - 0.55) * 0.035;
        double[][] at = Reports.placeLabels(xs, ys, chars, lo, hi, decade, dy);
        double marker = MARKER_PX / decade;
        for (int i = 0; i < xs.length; i++) {
            assertThat(at[i][1] - at[i][0]).isCloseTo(chars[i] * CHAR_PX / decade, offset(1e-12));
            assertThat(at[i][0]).isGreaterThanOrEqualTo(Math.log10(lo));
            assertThat(at[i][1]).isLessThanOrEqualTo(Math.log10(hi));
            for (int j = 0; j < xs.length; j++) {
                if (j == i) continue;
                double x = Math.log10(xs[j]);
                boolean overMarker = at[i][0] < x + marker && x - marker < at[i][1] && Math.abs(ys[j] - at[i][2]) < dy;
                assertThat(overMarker).as("%s's label over %s's point", titles[i], titles[j]).isFalse();
                boolean overLabel = at[i][0] < at[j][1] && at[j][0] < at[i][1] && Math.abs(at[i][2] - at[j][2]) < dy;
                assertThat(overLabel).as("%s's label over %s's", titles[i], titles[j]).isFalse();
            }
        }
    }
}
