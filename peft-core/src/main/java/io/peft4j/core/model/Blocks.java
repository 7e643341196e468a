package io.peft4j.core.model;

import io.peft4j.core.hooks.EmbeddingHook;
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

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
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
     * Prepends the layer's prefix keys/values from every {@link PrefixHook} on {@code site} to k and v
     * {@code [B, T, D]} (the hooks' {@code [B, H, P, dh]} prefixes are merged to {@code [B, P, D]} first). Prefixes
     * of disjoint rows share their positions ({@link #sharingRuns}).
     */
    static Tensor[] withPrefix(Tensor k, Tensor v, String site, int layer, Hooks hooks, ForwardContext ctx) {
        for (List<PrefixHook> run : prefixRuns(hooks.at(site, PrefixHook.class, ctx), ctx)) {
            Tensor keys, values;
            if (run.size() == 1) {
                PrefixHook.KeyValue kv = run.get(0).prefix(layer, ctx);
                keys = everyRow(kv.keys(), ctx.batchSize());
                values = everyRow(kv.values(), ctx.batchSize());
            } else {
                int width = 0;
                for (PrefixHook p : run) width = Math.max(width, p.length(ctx));
                keys = values = null;
                for (PrefixHook p : run) {
                    PrefixHook.KeyValue kv = p.prefix(layer, ctx);
                    int[] rows = indices(p.appliesTo(ctx));
                    keys = intoRows(keys, rows, kv.keys(), width, ctx.batchSize());
                    values = intoRows(values, rows, kv.values(), width, ctx.batchSize());
                }
            }
            k = Ops.concat(1, mergeHeads(keys), k);
            v = Ops.concat(1, mergeHeads(values), v);
        }
        return new Tensor[]{k, v};
    }

    /** {@code x} ({@code [B, ...]}, or {@code [1, ...]}: the same for every row) as {@code [b, ...]}. */
    private static Tensor everyRow(Tensor x, int b) {
        if (x.size(0) == b) return x;
        long[] shape = x.shape().clone();
        shape[0] = b;
        return Ops.broadcastTo(x, shape);
    }

    /** The prefix hooks of a pass that add positions, in {@link #sharingRuns}. */
    private static List<List<PrefixHook>> prefixRuns(List<PrefixHook> hooks, ForwardContext ctx) {
        List<PrefixHook> adding = new ArrayList<>();
        for (PrefixHook p : hooks) if (p.length(ctx) > 0) adding.add(p);
        return sharingRuns(adding, p -> p.appliesTo(ctx), ctx.batchSize());
    }

    /**
     * Hooks that add leading positions (virtual tokens, prefix keys), in runs that share positions: consecutive hooks
     * that each apply to some rows only, with no row in common (the adapters of a mixed batch), form one run whose
     * positions each row fills with its own hook's and pads to the run's widest (padding masked out); any other hook is
     * a run of its own. A batch mixing 8 prompt adapters so carries one adapter's positions, not 8.
     */
    static <H> List<List<H>> sharingRuns(List<H> hooks, Function<H, boolean[]> rows, int b) {
        List<List<H>> runs = new ArrayList<>();
        List<H> run = new ArrayList<>();
        boolean[] taken = null;
        for (H h : hooks) {
            boolean[] f = rows.apply(h);
            boolean shares = f != null && f.length == b && indices(f).length > 0;
            if (shares && taken != null && disjoint(f, taken)) {
                run.add(h);
                for (int r = 0; r < b; r++) taken[r] |= f[r];
                continue;
            }
            if (!run.isEmpty()) runs.add(run);
            run = new ArrayList<>(List.of(h));
            taken = shares ? f.clone() : null;
        }
        if (!run.isEmpty()) runs.add(run);
        return runs;
    }

    private static boolean disjoint(boolean[] a, boolean[] b) {
        for (int r = 0; r < a.length; r++) if (a[r] && b[r]) return false;
        return true;
    }

    private static int[] indices(boolean[] flags) {
        return java.util.stream.IntStream.range(0, flags.length).filter(r -> flags[r]).toArray();
    }

    /**
     * {@code block} ({@code [B, ..., width, ...]}, null: zeros) with {@code x}'s {@code rows} (x {@code [B, ..., n, ...]}, n
     * along dimension {@code x.rank() - 2}; or {@code [1, ..., n, ...]}, the same for every row) written in, padded with
     * zeros to {@code width}.
     */
    private static Tensor intoRows(Tensor block, int[] rows, Tensor x, int width, int b) {
        Tensor mine = x.size(0) == 1 && b > 1 ? everyRow(x, rows.length) : Ops.rows(x, rows);
        int dim = x.rank() - 2;
        long n = x.size(dim);
        if (n < width) {
            long[] pad = mine.shape().clone();
            pad[dim] = width - n;
            mine = Ops.concat(dim, mine, Tensor.constant(Nd4j.zeros(x.dataType(), pad)));
        }
        if (block == null) {
            long[] shape = mine.shape().clone();
            shape[0] = b;
            block = Tensor.constant(Nd4j.zeros(x.dataType(), shape));
        }
        return Ops.addToRows(block, rows, mine);
    }

    /**
     * What precedes a batch's tokens, per row: the prefix key/value positions of the {@link PrefixHook}s (in
     * the order {@link #withPrefix} lays them out) and the virtual tokens of the embedding hooks, each used or
     * masked out in each row. A row that uses none of them computes exactly as without them: their
     * positions are invisible to it and its position ids count from 0.
     */
    static final class Leading {
        private final int b;
        private boolean[][] prefix, virtual;

        /** The prefixes on the prefix site with the most prefix positions (every layer carries the same ones). */
        Leading(int b, Hooks hooks, List<String> prefixSites, ForwardContext ctx) {
            this.b = b;
            prefix = new boolean[b][0];
            virtual = new boolean[b][0];
            String widest = null;
            int most = 0;
            for (String s : prefixSites) {
                int here = 0;
                for (PrefixHook p : hooks.at(s, PrefixHook.class, ctx)) here += p.length(ctx);
                if (here > most) {
                    most = here;
                    widest = s;
                }
            }
            if (widest == null) return;
            for (List<PrefixHook> run : prefixRuns(hooks.at(widest, PrefixHook.class, ctx), ctx)) {
                if (run.size() == 1) {
                    prefix = prepend(prefix, run.get(0).length(ctx), run.get(0).appliesTo(ctx));
                    continue;
                }
                int width = 0;
                for (PrefixHook p : run) width = Math.max(width, p.length(ctx));
                boolean[][] lead = new boolean[b][width];
                for (PrefixHook p : run) for (int r : indices(p.appliesTo(ctx))) java.util.Arrays.fill(lead[r], 0, p.length(ctx), true);
                prefix = prepend(prefix, lead);
            }
        }

        /**
         * Applies the {@link EmbeddingHook}s on {@code site} to the token embeddings {@code e} in order, recording
         * the virtual tokens each prepends and the rows that use them. Hooks that only prepend
         * ({@link EmbeddingHook#virtualTokens}) to disjoint rows share their positions ({@link #sharingRuns}).
         */
        Tensor embed(Tensor e, Hooks hooks, String site, ForwardContext ctx) {
            Map<EmbeddingHook, Tensor> tokens = new IdentityHashMap<>();
            Function<EmbeddingHook, boolean[]> rows = h -> {
                boolean[] f = h.appliesTo(ctx);
                if (f == null || f.length != b) return null;
                Tensor p = h.virtualTokens(ctx);
                if (p == null) return null;
                tokens.put(h, p);
                return f;
            };
            for (List<EmbeddingHook> run : sharingRuns(hooks.at(site, EmbeddingHook.class, ctx), rows, b)) {
                if (run.size() == 1) {
                    EmbeddingHook h = run.get(0);
                    long before = e.size(1);
                    Tensor p = tokens.get(h);      // computed already: prepended here rather than computed again
                    e = p == null ? h.apply(e, ctx)
                            : Ops.concat(1, Ops.broadcastTo(Ops.reshape(p, 1, p.size(0), p.size(1)), e.size(0), p.size(0), p.size(1)), e);
                    int n = (int) (e.size(1) - before);
                    if (n > 0) virtual = prepend(virtual, n, h.appliesTo(ctx));
                    continue;
                }
                int width = 0;
                for (EmbeddingHook h : run) width = Math.max(width, (int) tokens.get(h).size(0));
                boolean[][] lead = new boolean[b][width];
                Tensor block = null;
                for (EmbeddingHook h : run) {
                    Tensor p = tokens.get(h);
                    int[] mine = indices(h.appliesTo(ctx));
                    long n = p.size(0), d = p.size(1);
                    block = intoRows(block, mine, Ops.reshape(p, 1, n, d), width, b);
                    for (int r : mine) java.util.Arrays.fill(lead[r], 0, (int) n, true);
                }
                e = Ops.concat(1, block, e);
                virtual = prepend(virtual, lead);
            }
            return e;
        }

        /** {@code lead[r]} (the same length in every row) before each row's {@code cur[r]}. */
        private boolean[][] prepend(boolean[][] cur, boolean[][] lead) {
            boolean[][] out = new boolean[b][];
            for (int r = 0; r < b; r++) {
                out[r] = java.util.Arrays.copyOf(lead[r], lead[r].length + cur[r].length);
                System.arraycopy(cur[r], 0, out[r], lead[r].length, cur[r].length);
            }
            return out;
        }

        private boolean[][] prepend(boolean[][] cur, int n, boolean[] rows) {
            if (rows != null && rows.length != b) throw new IllegalStateException(rows.length + " row flags for a batch of " + b);
            boolean[][] out = new boolean[b][];
            for (int r = 0; r < b; r++) {
                out[r] = new boolean[n + cur[r].length];
                java.util.Arrays.fill(out[r], 0, n, rows == null || rows[r]);
                System.arraycopy(cur[r], 0, out[r], n, cur[r].length);
            }
            return out;
        }

        int prefixLength() {
            return prefix[0].length;
        }

        int virtualLength() {
            return virtual[0].length;
        }

        /**
         * Position ids of the {@code V + t} positions after the prefix, flattened: row r counts from the prefix
         * positions it uses, over its used virtual tokens (masked ones get 0), then every token.
         */
        int[] positions(int t) {
            return positions(t, null);
        }

        /**
         * {@link #positions(int)} with the tokens' own positions {@code tokenPositions [b][t]} (a packed row's,
         * restarting at each example; null: 0, 1, 2, ...) counted after the row's used prefix positions and virtual
         * tokens, which every example of a packed row shares.
         */
        int[] positions(int t, int[][] tokenPositions) {
            int v = virtualLength();
            int[] p = new int[b * (v + t)];
            for (int r = 0; r < b; r++) {
                int next = 0;
                for (boolean used : prefix[r]) if (used) next++;
                for (int j = 0; j < v; j++) p[r * (v + t) + j] = virtual[r][j] ? next++ : 0;
                for (int i = 0; i < t; i++) p[r * (v + t) + v + i] = tokenPositions == null ? next + i : next + tokenPositions[r][i];
            }
            return p;
        }

        /** The packed layout of every attention's keys for a batch's {@code segments} (null: not packed). */
        Packed packed(int[][] segments) {
            return segments == null ? null : Packed.of(prefixLength() + virtualLength(), segments);
        }

        /** The mask over the {@code V + t} positions after the prefix: used virtual tokens, then {@code attentionMask} (null: ones). */
        int[][] outputMask(int[][] attentionMask, int t) {
            int v = virtualLength();
            int[][] out = new int[b][v + t];
            for (int r = 0; r < b; r++) {
                for (int j = 0; j < v; j++) out[r][j] = virtual[r][j] ? 1 : 0;
                for (int i = 0; i < t; i++) out[r][v + i] = attentionMask == null ? 1 : attentionMask[r][i];
            }
            return out;
        }

        /** The key mask of every attention: the used prefix positions, then {@code outputMask}. */
        int[][] keyMask(int[][] outputMask) {
            int n = prefixLength();
            int[][] out = new int[b][];
            for (int r = 0; r < b; r++) {
                out[r] = new int[n + outputMask[r].length];
                for (int j = 0; j < n; j++) out[r][j] = prefix[r][j] ? 1 : 0;
                System.arraycopy(outputMask[r], 0, out[r], n, outputMask[r].length);
            }
            return out;
        }
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
            Tensor[] kv = withPrefix(k, v, prefixSite, layer, hooks, ctx);
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
