package io.peft4j.core.train;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The built-in objectives: a classification / regression / token head, masked-LM cloze and causal LM
 * with a loss mask. Batches are right-padded with id 0 and an attention mask; virtual tokens that a
 * prompt method prepends are skipped by every loss.
 */
public final class Objectives {
    /** PyTorch's ignore index. */
    public static final int IGNORE = -100;

    private Objectives() {
    }

    /** Right-pads {@code rows} into a batch (pad id 0, attention mask, token types where given). */
    public static Batch collate(List<int[]> rows, List<int[]> types) {
        int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        int[][] ids = new int[rows.size()][t], mask = new int[rows.size()][t];
        int[][] tt = types == null ? null : new int[rows.size()][t];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, ids[i], 0, rows.get(i).length);
            java.util.Arrays.fill(mask[i], 0, rows.get(i).length, 1);
            if (tt != null && types.get(i) != null) System.arraycopy(types.get(i), 0, tt[i], 0, types.get(i).length);
        }
        return new Batch(ids, tt, mask);
    }

    private static <E extends Example> Batch collate(List<E> batch, Function<E, int[]> types) {
        List<int[]> ids = new ArrayList<>(), tt = new ArrayList<>();
        boolean anyTypes = false;
        for (E e : batch) {
            ids.add(e.ids());
            int[] t = types == null ? null : types.apply(e);
            anyTypes |= t != null;
            tt.add(t);
        }
        return collate(ids, anyTypes ? tt : null);
    }

    /** Cross-entropy of the head's logits against the labels, with optional label smoothing. */
    public static Objective<Example.Classification> classification(double labelSmoothing) {
        return (model, batch, ctx) -> {
            ModelOutput out = model.forward(collate(batch, Example.Classification::tokenTypes), ctx);
            int[] labels = batch.stream().mapToInt(Example.Classification::label).toArray();
            return Ops.crossEntropy(model.headLogits(out, ctx), labels, IGNORE, labelSmoothing);
        };
    }

    /** Mean squared error of a one-output head. */
    public static Objective<Example.Regression> regression() {
        return (model, batch, ctx) -> {
            ModelOutput out = model.forward(collate(batch, Example.Regression::tokenTypes), ctx);
            double[] y = batch.stream().mapToDouble(Example.Regression::target).toArray();
            return Ops.mse(model.headLogits(out, ctx), Nd4j.create(y, new long[]{y.length, 1}, 'c'));
        };
    }

    /** Cross-entropy per token of a token-classification head (padding and -100 labels ignored). */
    public static Objective<Example.Tokens> tokenClassification(double labelSmoothing) {
        return (model, batch, ctx) -> {
            Batch b = collate(batch, null);
            Tensor logits = model.headLogits(model.forward(b, ctx), ctx);
            long labels = logits.size(2);
            int[] targets = new int[b.size() * b.length()];
            java.util.Arrays.fill(targets, IGNORE);
            for (int r = 0; r < batch.size(); r++) System.arraycopy(batch.get(r).labels(), 0, targets, r * b.length(), batch.get(r).labels().length);
            return Ops.crossEntropy(Ops.reshape(logits, (long) targets.length, labels), targets, IGNORE, labelSmoothing);
        };
    }

    /** Masked-LM cloze: cross-entropy of the LM head at the labelled positions only. */
    public static Objective<Example.Cloze> maskedLm(double labelSmoothing) {
        return (model, batch, ctx) -> {
            Batch b = collate(batch, Example.Cloze::tokenTypes);
            ModelOutput out = model.forward(b, ctx);
            List<Integer> rows = new ArrayList<>();
            List<Integer> targets = new ArrayList<>();
            long t = out.hidden().size(1);
            for (int r = 0; r < batch.size(); r++) {
                int[] labels = batch.get(r).labels();
                for (int i = 0; i < labels.length; i++) {
                    if (labels[i] == IGNORE) continue;
                    rows.add((int) (r * t + out.virtualTokens() + i));
                    targets.add(labels[i]);
                }
            }
            return lmLoss(model, out, rows, targets, labelSmoothing);
        };
    }

    /**
     * Causal LM: token i predicted from the tokens before it wherever {@code lossMask[i]} is 1 (i ≥ 1). Packed
     * rows ({@link Example.Lm#segments}) go to the model with their segments, and the first token of each packed
     * example is never a target (nothing of its own example precedes it).
     */
    public static Objective<Example.Lm> causalLm(double labelSmoothing) {
        return (model, batch, ctx) -> {
            Batch b = collateLm(batch);
            ModelOutput out = model.forward(b, ctx);
            List<Integer> rows = new ArrayList<>();
            List<Integer> targets = new ArrayList<>();
            long t = out.hidden().size(1);
            for (int r = 0; r < batch.size(); r++) {
                Example.Lm e = batch.get(r);
                int[] seg = e.segments();
                for (int i = 1; i < e.ids().length; i++) {
                    if (e.lossMask()[i] == 0 || seg != null && seg[i] != seg[i - 1]) continue;
                    rows.add((int) (r * t + out.virtualTokens() + i - 1));
                    targets.add(e.ids()[i]);
                }
            }
            return lmLoss(model, out, rows, targets, labelSmoothing);
        };
    }

    /**
     * Right-pads causal-LM examples into a batch; when any is a packed row, with segments (an unpacked row is one
     * segment, padding 0) and positions restarting per example.
     */
    public static Batch collateLm(List<Example.Lm> batch) {
        Batch b = collate(batch, (Function<Example.Lm, int[]>) null);
        if (batch.stream().allMatch(e -> e.segments() == null)) return b;
        int[][] seg = new int[b.size()][b.length()];
        for (int r = 0; r < batch.size(); r++) {
            int[] s = batch.get(r).segments();
            if (s != null) System.arraycopy(s, 0, seg[r], 0, s.length);
            else java.util.Arrays.fill(seg[r], 0, batch.get(r).ids().length, 1);
        }
        return new Batch(b.ids(), null, b.attentionMask(), seg, null);
    }

    /** LM-head cross-entropy at the given flattened hidden rows (the head runs on those rows only). */
    private static Tensor lmLoss(PeftModel model, ModelOutput out, List<Integer> rows, List<Integer> targets, double eps) {
        if (rows.isEmpty()) throw new IllegalArgumentException("a batch has no target tokens (every loss-mask entry is 0)");
        Tensor h = out.hidden();
        long d = h.size(2);
        Tensor picked = Ops.embedding(Ops.reshape(h, h.size(0) * h.size(1), d), rows.stream().mapToInt(Integer::intValue).toArray());
        Tensor logits = model.base().lmLogits(Ops.reshape(picked, 1, rows.size(), d));
        return Ops.crossEntropy(Ops.reshape(logits, rows.size(), logits.size(2)), targets.stream().mapToInt(Integer::intValue).toArray(), IGNORE, eps);
    }

    /** Predicted label per example of a classification head (argmax), evaluated in batches of {@code batchSize}. */
    public static int[] predict(PeftModel model, List<Example.Classification> examples, int batchSize) {
        int[] out = new int[examples.size()];
        for (int s = 0; s < examples.size(); s += batchSize) {
            List<Example.Classification> part = examples.subList(s, Math.min(examples.size(), s + batchSize));
            ForwardContext ctx = ForwardContext.inference(part.size());
            // in a pass workspace: outside one every activation would be garbage that only the Java GC frees
            var logits = Workspaces.run(() -> new INDArray[]{
                    model.headLogits(model.forward(collate(part, Example.Classification::tokenTypes), ctx), ctx).value()})[0];
            var arg = logits.argMax(1);
            for (int i = 0; i < part.size(); i++) out[s + i] = arg.getInt(i);
        }
        return out;
    }
}
