package io.peft4j.core.model;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HiddenHook;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The building blocks BERT and GPT-2 share, written once: hooked linear projections, layer norm,
 * multi-head attention with prefixes and masks, and the hook applications at the sublayer and
 * final-hidden sites.
 */
final class Blocks {
    /** Additive bias for masked attention scores (finite, so fully masked rows stay defined). */
    static final double MASKED = -1e9;

    private Blocks() {
    }

    /** A frozen projection at a LINEAR hook site: {@code y = x·W + b}, W stored {@code [in, out]}. */
    record Linear(String site, Tensor weight, Tensor bias) {
        Tensor apply(Tensor x, Hooks hooks, ForwardContext ctx) {
            List<LinearHook> hs = hooks.at(site, LinearHook.class);
            for (LinearHook h : hs) x = h.input(x, ctx);
            Tensor y = Ops.linear(x, weight, bias);
            for (LinearHook h : hs) y = h.output(x, y, ctx);
            return y;
        }
    }

    /** Layer norm over the last dimension. */
    record Norm(Tensor gamma, Tensor beta, double eps) implements UnaryOperator<Tensor> {
        @Override
        public Tensor apply(Tensor x) {
            return Ops.layerNorm(x, gamma, beta, eps);
        }
    }

    /** {@code [B, H, T, dh] -> [B, T, H·dh]}. */
    static Tensor mergeHeads(Tensor x) {
        long b = x.size(0), h = x.size(1), t = x.size(2), dh = x.size(3);
        return Ops.reshape(Ops.permute(x, 0, 2, 1, 3), b, t, h * dh);
    }

    /**
     * Prepends the layer's prefix keys/values from every {@link PrefixHook} on {@code site} to k and v
     * {@code [B, T, D]} (the hooks' {@code [B, H, P, dh]} prefixes are merged to {@code [B, P, D]} first).
     */
    static Tensor[] withPrefix(Tensor k, Tensor v, String site, int layer, Hooks hooks, ForwardContext ctx) {
        for (PrefixHook p : hooks.at(site, PrefixHook.class)) {
            if (p.length(ctx) == 0) continue;
            PrefixHook.KeyValue kv = p.prefix(layer, ctx);
            k = Ops.concat(1, mergeHeads(kv.keys()), k);
            v = Ops.concat(1, mergeHeads(kv.values()), v);
        }
        return new Tensor[]{k, v};
    }

    /** The total prefix length installed on the given prefix sites (the largest of them). */
    static int prefixLength(Hooks hooks, List<String> prefixSites, ForwardContext ctx) {
        int n = 0;
        for (String s : prefixSites) {
            int here = 0;
            for (PrefixHook p : hooks.at(s, PrefixHook.class)) here += p.length(ctx);
            n = Math.max(n, here);
        }
        return n;
    }

    /**
     * Scaled dot-product attention of q {@code [B, Tq, D]} over k, v {@code [B, Tk, D]} with {@code heads}
     * heads side by side in D; query i sits at absolute position {@code Tk - Tq + i}. {@code keyMask [B][Tk]}
     * (1 = attend) may be null; with {@code causal}, query i sees keys {@code 0..Tk-Tq+i} only.
     */
    static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, int[][] keyMask, boolean causal) {
        INDArray bias = maskBias(q.dataType(), (int) q.size(0), (int) q.size(1), (int) k.size(1), keyMask, causal);
        return Ops.attention(q, k, v, heads, bias);
    }

    private static INDArray maskBias(DataType type, int b, int tq, int tk, int[][] keyMask, boolean causal) {
        if (keyMask == null && (!causal || tq == 1)) return null;
        boolean anyPad = false;
        if (keyMask != null) for (int[] r : keyMask) for (int m : r) anyPad |= m == 0;
        if (!anyPad && (!causal || tq == 1)) return null;
        int rows = anyPad ? b : 1, qrows = causal ? tq : 1;
        float[] data = new float[rows * qrows * tk];
        int past = tk - tq;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < qrows; i++) {
                for (int j = 0; j < tk; j++) {
                    boolean masked = (anyPad && keyMask[r][j] == 0) || (causal && j > past + i);
                    if (masked) data[(r * qrows + i) * tk + j] = (float) MASKED;
                }
            }
        }
        return Nd4j.create(data, new long[]{rows, 1, qrows, tk}, 'c').castTo(type);
    }

    /** Applies the sublayer hooks at {@code site}: {@code h -> h'}. */
    static Tensor sublayer(String site, Tensor x, Tensor h, UnaryOperator<Tensor> norm, Hooks hooks, ForwardContext ctx) {
        for (SublayerHook s : hooks.at(site, SublayerHook.class)) h = s.apply(x, h, norm, ctx);
        return h;
    }

    static Tensor finalHidden(String site, Tensor hidden, Hooks hooks, ForwardContext ctx) {
        for (HiddenHook f : hooks.at(site, HiddenHook.class)) hidden = f.apply(hidden, ctx);
        return hidden;
    }

    /** Position ids {@code offset..offset+t-1} for every row, flattened. */
    static int[] positions(int b, int t, int offset) {
        int[] p = new int[b * t];
        for (int r = 0; r < b; r++) for (int i = 0; i < t; i++) p[r * t + i] = offset + i;
        return p;
    }

    /** Prepends {@code n} ones (virtual tokens or prefix positions are always attended). */
    static int[][] prependOnes(int[][] mask, int b, int t, int n) {
        int[][] out = new int[b][n + t];
        for (int r = 0; r < b; r++) {
            java.util.Arrays.fill(out[r], 0, n, 1);
            for (int i = 0; i < t; i++) out[r][n + i] = mask == null ? 1 : mask[r][i];
        }
        return out;
    }
}
