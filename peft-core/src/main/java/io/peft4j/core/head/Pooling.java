package io.peft4j.core.head;

import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How a sequence head reduces hidden states {@code [B, P + T, D]} to {@code [B, D]}. Virtual tokens
 * (prompt tuning) are skipped: CLS is the first real token, MEAN averages the attended real tokens, LAST
 * is the last attended token (GPT-2's sequence classification).
 */
public enum Pooling {
    CLS, MEAN, LAST;

    public Tensor pool(ModelOutput out) {
        Tensor h = out.hidden();
        int b = (int) h.size(0), t = (int) h.size(1);
        long d = h.size(2);
        int[][] mask = out.attentionMask();
        int v = out.virtualTokens();
        if (this == MEAN) {
            double[] w = new double[b * t];
            for (int r = 0; r < b; r++) {
                int n = 0;
                for (int i = v; i < t; i++) n += mask[r][i];
                for (int i = v; i < t; i++) if (mask[r][i] != 0) w[r * t + i] = 1.0 / Math.max(n, 1);
            }
            Tensor weights = Tensor.constant(Nd4j.create(w, new long[]{b, t, 1}, 'c').castTo(h.dataType()));
            return Ops.sum(Ops.mul(h, weights), 1);
        }
        int[] rows = new int[b];
        for (int r = 0; r < b; r++) {
            int pos = v;
            if (this == LAST) for (int i = v; i < t; i++) if (mask[r][i] != 0) pos = i;
            rows[r] = r * t + pos;
        }
        return Ops.embedding(Ops.reshape(h, (long) b * t, d), rows);
    }
}
