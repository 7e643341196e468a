package io.peft4j.core.peft;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks that adapters which lengthen the sequence (prompts, prefixes) serve mixed batches: each row of a
 * batch whose rows are tagged for different adapters (or none) computes what it computes alone, and the
 * adapter's gradients come from its own rows only.
 */
public final class PerRowCheck {
    private PerRowCheck() {
    }

    private static Batch row(Batch batch, int r) {
        return new Batch(new int[][]{batch.ids()[r]}, batch.tokenTypes() == null ? null : new int[][]{batch.tokenTypes()[r]},
                batch.attentionMask() == null ? null : new int[][]{batch.attentionMask()[r]});
    }

    /**
     * Every row of the mixed pass equals the same row run alone with its own tag: its real tokens, and the
     * virtual tokens it attends to (those of its own adapters; the others must be masked out for it).
     */
    public static void rowsMatchSeparateRuns(PeftModel m, Batch batch, List<String> tags, double tol) {
        ModelOutput mixed = m.forward(batch, new ForwardContext(batch.size(), tags, false, 0));
        int v = mixed.virtualTokens(), t = batch.length();
        INDArray h = mixed.hidden().value();
        for (int r = 0; r < batch.size(); r++) {
            ModelOutput alone = m.forward(row(batch, r), new ForwardContext(1, List.of(tags.get(r)), false, 0));
            List<Integer> used = new java.util.ArrayList<>();
            for (int j = 0; j < v; j++) if (mixed.attentionMask()[r][j] == 1) used.add(j);
            assertThat(used.size()).as("row %d (%s): virtual tokens attended in the batch and alone", r, tags.get(r)).isEqualTo(alone.virtualTokens());
            for (int i = 0; i < t; i++) used.add(v + i);
            INDArray mine = h.slice(r).getRows(used.stream().mapToInt(Integer::intValue).toArray());
            double diff = mine.sub(alone.hidden().value().slice(0)).amaxNumber().doubleValue();
            assertThat(diff).as("row %d (%s): largest difference from the row alone", r, tags.get(r)).isLessThan(tol);
        }
    }

    /** {@code sum_r sum_i hidden[r, V + i] · w[i]} over the real tokens, w fixed by a seed. */
    private static Tensor loss(PeftModel m, Batch batch, List<String> tags) {
        ModelOutput out = m.forward(batch, new ForwardContext(batch.size(), tags, false, 0));
        int v = out.virtualTokens(), t = batch.length();
        long d = out.hidden().size(2);
        Nd4j.getRandom().setSeed(17);
        INDArray w = Nd4j.randn(out.hidden().dataType(), 1, t, d);
        return Ops.sum(Ops.mul(Ops.narrow(out.hidden(), 1, v, t), Tensor.constant(w)));
    }

    /**
     * The adapter's gradients from the mixed batch equal those from a batch of only the rows tagged for it:
     * the other rows add nothing.
     */
    public static void gradientsComeFromTheAdaptersRowsOnly(PeftModel m, Adapter a, Batch batch, List<String> tags, double tol) {
        Map<String, Tensor> params = a.parameters();
        params.values().forEach(Tensor::zeroGrad);
        loss(m, batch, tags).backward();
        Map<String, INDArray> mixed = new java.util.LinkedHashMap<>();
        params.forEach((k, p) -> mixed.put(k, p.grad().dup()));
        params.values().forEach(Tensor::zeroGrad);
        int[] own = java.util.stream.IntStream.range(0, batch.size()).filter(r -> tags.get(r).equals(a.name())).toArray();
        int[][] ids = new int[own.length][], mask = batch.attentionMask() == null ? null : new int[own.length][];
        for (int i = 0; i < own.length; i++) {
            ids[i] = batch.ids()[own[i]];
            if (mask != null) mask[i] = batch.attentionMask()[own[i]];
        }
        loss(m, new Batch(ids, null, mask), java.util.Collections.nCopies(own.length, a.name())).backward();
        params.forEach((k, p) -> {
            double scale = Math.max(1e-12, p.grad().amaxNumber().doubleValue());
            assertThat(scale).as("%s has a gradient", k).isGreaterThan(1e-9);
            assertThat(mixed.get(k).sub(p.grad()).amaxNumber().doubleValue() / scale).as("%s: gradient from the mixed batch", k).isLessThan(tol);
        });
        params.values().forEach(Tensor::zeroGrad);
    }

    /**
     * Adds a second adapter from {@code cfg} (of another length than {@code first}'s) and checks both checks on
     * a batch whose rows use the second adapter, the first one and neither; then removes it again.
     */
    public static void withASecondAdapter(PeftModel m, PeftConfig cfg, String first, Batch batch, double tol) {
        Adapter second = m.add("second", cfg, 6);
        rowsMatchSeparateRuns(m, batch, List.of("second", first, "__base__"), tol);
        gradientsComeFromTheAdaptersRowsOnly(m, second, batch, List.of("second", first, "second"), tol);
        m.remove("second");
    }
}
