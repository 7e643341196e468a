package io.peft4j.core.eval;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Against scikit-learn's documented example of {@code classification_report} and hand counts. */
class ClassificationReportTest {
    /**
     * scikit-learn's docstring example: y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1] gives precision
     * 0.50 / 0.00 / 1.00, recall 1.00 / 0.00 / 0.67, f1 0.67 / 0.00 / 0.80, accuracy 0.60, macro avg f1 0.49.
     */
    @Test
    void matchesScikitLearnsDocumentedExample() {
        var r = ClassificationReport.of(List.of("class 0", "class 1", "class 2"), new int[]{0, 1, 2, 2, 2}, new int[]{0, 0, 2, 2, 1});
        assertThat(r.precision(0)).isEqualTo(0.5);
        assertThat(r.precision(1)).isZero();
        assertThat(r.precision(2)).isEqualTo(1.0);
        assertThat(r.recall(2)).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(r.f1(0)).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(r.f1(2)).isCloseTo(0.8, within(1e-12));
        assertThat(r.accuracy()).isEqualTo(0.6);
        assertThat(r.macroF1()).isCloseTo((2.0 / 3 + 0 + 0.8) / 3, within(1e-12));   // 0.4889, printed 0.49
        assertThat(r.confusion()).isDeepEqualTo(new long[][]{{1, 0, 0}, {1, 0, 0}, {0, 1, 2}});
        assertThat(r.support(2)).isEqualTo(3);
    }

    @Test
    void aClassNeverSeenCountsInTheMacroAverageAndTheJsonHasEveryField() {
        var r = ClassificationReport.of(List.of("a", "b", "c"), new int[]{0, 0, 1}, new int[]{0, 1, 1});
        assertThat(r.f1(2)).isZero();
        assertThat(r.macroF1()).isCloseTo((2.0 / 3 + 2.0 / 3 + 0) / 3, within(1e-12));
        Map<String, Object> j = r.toJson();
        assertThat(j).containsKeys("accuracy", "macro_f1", "n", "per_class", "confusion");
        assertThat(j.get("n")).isEqualTo(3L);
        @SuppressWarnings("unchecked") var per = (Map<String, Map<String, Object>>) j.get("per_class");
        assertThat(per.get("b")).containsEntry("precision", 0.5).containsEntry("recall", 1.0).containsEntry("support", 1L);
        assertThat(r.toTable()).contains("macro-F1").contains("accuracy");
    }
}
