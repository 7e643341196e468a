package io.peft4j.core.model;

import io.peft4j.core.hooks.EmbeddingHook;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What precedes a batch's tokens, per row: the prefix key/value positions of the {@link PrefixHook}s (in
 * the order {@link #withPrefix} lays them out) and the virtual tokens of the embedding hooks, each used or
 * masked out in each row. A row that uses none of them computes exactly as without them: their
 * positions are invisible to it and its position ids count from 0.
 *
 * <p>Also how the prefixes and virtual tokens of several hooks are laid out: {@link #withPrefix} per layer, and the
 * {@link #sharingRuns} that let the adapters of disjoint rows share positions.
 */
final class Leading {
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
                e = p == null ? h.apply(e, ctx) : EmbeddingHook.prepend(p, e);
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
    Blocks.Packed packed(int[][] segments) {
        return segments == null ? null : Blocks.Packed.of(prefixLength() + virtualLength(), segments);
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
            k = Ops.concat(1, Blocks.mergeHeads(keys), k);
            v = Ops.concat(1, Blocks.mergeHeads(values), v);
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
}
