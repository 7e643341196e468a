package io.peft4j.core.model;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HiddenHook;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The building blocks the models share, written once: hooked linear projections, layer norm and RMS norm,
 * multi-head (and grouped-query) attention with prefixes, causal and sliding-window masks, and the hook
 * applications at the sublayer and final-hidden sites.
 */
final class Blocks {
    /** Additive bias for masked attention scores (finite, so fully masked rows stay defined). */
    static final double MASKED = -1e9;

    private Blocks() {
    }

    /** A frozen projection at a LINEAR hook site: {@code y = x·W + b}, W stored {@code [in, out]}. */
    record Linear(String site, Tensor weight, Tensor bias) {
        Tensor apply(Tensor x, Hooks hooks, ForwardContext ctx) {
            List<LinearHook> hs = hooks.at(site, LinearHook.class, ctx);
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

    /** RMS norm over the last dimension (Zhang and Sennrich 2019): {@code x / sqrt(mean(x²) + eps) ⊙ g}. */
    record RmsNorm(Tensor gain, double eps) implements UnaryOperator<Tensor> {
        @Override
        public Tensor apply(Tensor x) {
            return Ops.rmsNorm(x, gain, eps);
        }
    }

    /** The activation a config's {@code field} names, which must be one of the GELU forms (GPT-2 and BERT). */
    static String geluActivation(ConfigJson c, String field, String dflt) {
        com.fasterxml.jackson.databind.JsonNode v = c.node(field);
        String name = v == null || v.isNull() ? dflt : v.asText();
        if (v != null && !v.isNull() && !v.isTextual() || Ops.Gelu.forActivation(name) == null) {
            throw c.fault("field '" + field + "' is " + v + ": not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast)");
        }
        return name;
    }

    /** Row by row, {@code a} then {@code b}. */
    static int[][] concatMask(int[][] a, int[][] b) {
        int[][] out = new int[a.length][];
        for (int r = 0; r < a.length; r++) {
            out[r] = java.util.Arrays.copyOf(a[r], a[r].length + b[r].length);
            System.arraycopy(b[r], 0, out[r], a[r].length, b[r].length);
        }
        return out;
    }

    /**
     * Grouped-query attention's sharing (Ainslie et al. 2023): keys or values {@code [B, T, G·dh]} of G heads
     * widened to {@code [B, T, H·dh]}, query head h reading key/value head {@code h / (H/G)}. Identity when G = H.
     */
    static Tensor repeatKeyValueHeads(Tensor kv, int groups, int heads) {
        if (groups == heads) return kv;
        long b = kv.size(0), t = kv.size(1), dh = kv.size(2) / groups;
        int rep = heads / groups;
        Tensor wide = Ops.broadcastTo(Ops.reshape(kv, b, t, groups, 1, dh), b, t, groups, rep, dh);
        return Ops.reshape(wide, b, t, (long) heads * dh);
    }

    /** {@code [B, H, T, dh] -> [B, T, H·dh]}. */
    static Tensor mergeHeads(Tensor x) {
        long b = x.size(0), h = x.size(1), t = x.size(2), dh = x.size(3);
        return Ops.reshape(Ops.permute(x, 0, 2, 1, 3), b, t, h * dh);
    }

    /**
     * Where a decoder pass starts: the token embeddings {@code x} with the virtual tokens of the embedding hooks on
     * {@code embeddingSite} prepended (first pass only), every token's position, the output mask, the key mask over
     * the prefix, cached and new positions, and the packed rows' segments (first pass only).
     */
    record DecoderStart(Tensor x, int[] positions, int[][] mask, int[][] keyMask, Packed packed, boolean first) {
        /** The virtual tokens prepended to the {@code t} real ones. */
        int virtual(int t) {
            return (int) x.size(1) - t;
        }
    }

    /**
     * The start of a decoder pass over {@code batch} whose token embeddings are {@code x}: a first pass (no cache, or
     * an empty one) places the prefixes and virtual tokens and reads the batch's positions and segments; a pass that
     * continues {@code cache} numbers its tokens after each row's cached ones and sees every cached key.
     */
    static DecoderStart decoderStart(Batch batch, Tensor x, KvCache cache, Hooks hooks, List<String> prefixSites, String embeddingSite, ForwardContext ctx) {
        int b = batch.size(), t = batch.length();
        boolean first = cache == null || cache.length() == 0;
        if (cache != null && (batch.packed() || batch.positions() != null)) {
            throw new IllegalArgumentException("packed rows (segments, positions) are for whole passes, not with a key/value cache");
        }
        if (first) {
            Leading lead = new Leading(b, hooks, prefixSites, ctx);
            x = lead.embed(x, hooks, embeddingSite, ctx);
            int[][] mask = lead.outputMask(batch.attentionMask(), t);
            return new DecoderStart(x, lead.positions(t, batch.positions()), mask, lead.keyMask(mask), lead.packed(batch.segments()), true);
        }
        if (cache.batchSize() != b) throw new IllegalArgumentException(b + " rows continue a cache of " + cache.batchSize());
        int[] positions = new int[b * t];
        for (int r = 0; r < b; r++) for (int i = 0; i < t; i++) positions[r * t + i] = cache.nextPosition(r) + i;
        int[][] mask = batch.attentionMask() != null ? batch.attentionMask() : onesMask(b, t);
        return new DecoderStart(x, positions, mask, concatMask(cache.keyMask(), mask), null, false);
    }

    /**
     * A decoder layer's keys and values {@code [B, T, D]} as attention sees them: on a first pass with the prefixes of
     * {@code prefixSite} prepended, on a continuing pass after the cached ones; stored in {@code cache} when given.
     */
    static Tensor[] keysValues(Tensor k, Tensor v, String prefixSite, int layer, boolean first, KvCache cache, Hooks hooks, ForwardContext ctx) {
        if (first) {
            Tensor[] kv = Leading.withPrefix(k, v, prefixSite, layer, hooks, ctx);
            k = kv[0];
            v = kv[1];
        } else {
            k = Ops.concat(1, Tensor.constant(cache.keys(layer)), k);
            v = Ops.concat(1, Tensor.constant(cache.values(layer)), v);
        }
        if (cache != null) cache.store(layer, k.value(), v.value());
        return new Tensor[]{k, v};
    }

    /** A mask of ones, {@code [b][t]}. */
    static int[][] onesMask(int b, int t) {
        int[][] m = new int[b][t];
        for (int[] r : m) java.util.Arrays.fill(r, 1);
        return m;
    }

    /** The largest of {@code positions}, plus one: how many position embeddings they need. */
    static int positionsNeeded(int[] positions) {
        int m = 0;
        for (int p : positions) m = Math.max(m, p + 1);
        return m;
    }

    /**
     * Scaled dot-product attention of q {@code [B, Tq, D]} over k, v {@code [B, Tk, D]} with {@code heads}
     * heads side by side in D; query i sits at absolute position {@code Tk - Tq + i}. {@code keyMask [B][Tk]}
     * (1 = attend) may be null; with {@code causal}, query i sees keys {@code 0..Tk-Tq+i} only.
     */
    static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, int[][] keyMask, boolean causal) {
        return attention(q, k, v, heads, keyMask, causal, 0);
    }

    /**
     * {@link #attention(Tensor, Tensor, Tensor, int, int[][], boolean)} with a sliding window (Child et al. 2019;
     * Mistral): with {@code window > 0}, query i (at key index {@code Tk - Tq + i}) also does not see the keys
     * {@code window} or more indices back.
     */
    static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, int[][] keyMask, boolean causal, int window) {
        return attention(q, k, v, heads, keyMask, causal, window, null);
    }

    /**
     * {@link #attention(Tensor, Tensor, Tensor, int, int[][], boolean, int)} over packed rows ({@code packed} non-null):
     * a query also does not see the keys of other examples of its row, and the window counts from the start of its
     * example (as if it were alone after the shared prefix and virtual tokens).
     */
    static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, int[][] keyMask, boolean causal, int window, Packed packed) {
        INDArray bias = maskBias(q.dataType(), (int) q.size(0), (int) q.size(1), (int) k.size(1), keyMask, causal, window, packed);
        return Ops.attention(q, k, v, heads, bias);
    }

    /**
     * The keys of a packed batch: {@code segments [B][Tk]} (0 for the shared leading positions, prefix keys and virtual
     * tokens, which every example sees; the batch's segment on its tokens) and {@code index [B][Tk]}, each key's index
     * as its example alone would have it (the leading positions, then the example's own tokens from its start).
     */
    record Packed(int[][] segments, int[][] index) {
        /** For {@code lead} leading positions followed by tokens of {@code tokenSegments [B][T]}. */
        static Packed of(int lead, int[][] tokenSegments) {
            int b = tokenSegments.length;
            int[][] seg = new int[b][], index = new int[b][];
            for (int r = 0; r < b; r++) {
                int t = tokenSegments[r].length;
                seg[r] = new int[lead + t];
                index[r] = new int[lead + t];
                for (int j = 0; j < lead; j++) index[r][j] = j;
                int start = 0;
                for (int i = 0; i < t; i++) {
                    int s = tokenSegments[r][i];
                    if (i > 0 && s != tokenSegments[r][i - 1]) start = i;
                    seg[r][lead + i] = s;
                    index[r][lead + i] = s == 0 ? lead + i : lead + i - start;
                }
            }
            return new Packed(seg, index);
        }
    }

    private static INDArray maskBias(DataType type, int b, int tq, int tk, int[][] keyMask, boolean causal, int window, Packed packed) {
        int past = tk - tq;
        boolean windowed = window > 0 && past + tq - 1 >= window;     // some query sees a key beyond the window
        if (packed == null && keyMask == null && (!causal || tq == 1) && !windowed) return null;
        boolean anyPad = false;
        if (keyMask != null) for (int[] r : keyMask) for (int m : r) anyPad |= m == 0;
        if (packed == null && !anyPad && (!causal || tq == 1) && !windowed) return null;
        int rows = anyPad || packed != null ? b : 1, qrows = causal || windowed || packed != null ? tq : 1;
        float[] data = new float[rows * qrows * tk];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < qrows; i++) {
                int seen = 0;
                int[] seg = packed == null ? null : packed.segments()[r], at = packed == null ? null : packed.index()[r];
                for (int j = 0; j < tk; j++) {
                    boolean otherExample = seg != null && seg[j] != 0 && seg[j] != seg[past + i];
                    int distance = at == null ? past + i - j : at[past + i] - at[j];
                    boolean masked = (anyPad && keyMask[r][j] == 0) || (causal && j > past + i) || (windowed && distance >= window) || otherExample;
                    if (masked) data[(r * qrows + i) * tk + j] = (float) MASKED;
                    else seen++;
                }
                // a query that sees no key (a masked position before every attended one: left padding, an unused
                // virtual token) attends to all instead, as Hugging Face's _unmask_unattended does: its output is
                // never used, but it must stay finite, for a masked key's value still meets a 0 weight (0·NaN = NaN)
                if (seen == 0) java.util.Arrays.fill(data, (r * qrows + i) * tk, (r * qrows + i + 1) * tk, 0f);
            }
        }
        return Nd4j.create(data, new long[]{rows, 1, qrows, tk}, 'c').castTo(type);
    }

    /** Applies the sublayer hooks at {@code site}: {@code h -> h'}. */
    static Tensor sublayer(String site, Tensor x, Tensor h, UnaryOperator<Tensor> norm, Hooks hooks, ForwardContext ctx) {
        for (SublayerHook s : hooks.at(site, SublayerHook.class, ctx)) h = s.apply(x, h, norm, ctx);
        return h;
    }

    /** Applies the {@link HiddenHook}s at a {@code FINAL_HIDDEN} or {@code LAYER_OUTPUT} site. */
    static Tensor hidden(String site, Tensor hidden, Hooks hooks, ForwardContext ctx) {
        for (HiddenHook f : hooks.at(site, HiddenHook.class, ctx)) hidden = f.apply(hidden, ctx);
        return hidden;
    }
}
