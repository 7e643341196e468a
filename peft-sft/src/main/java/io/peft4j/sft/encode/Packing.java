package io.peft4j.sft.encode;

import io.peft4j.core.train.Example;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Packing short examples into rows of at most a maximum length, so that a batch carries little padding. A packed row is
 * only equivalent to its examples trained apart if attention never crosses from one example into another and each
 * example's positions count from 0: a block-diagonal causal mask ({@link Row#attends}) and restarted position ids
 * ({@link Row#positions}), what Hugging Face's padding-free packing passes as {@code position_ids}.
 *
 * <p>A row goes to the model as one {@link Example.Lm} with its segments ({@link Row#example()}): GPT-2 and the Llama
 * family then attend within each example only and restart the positions at each example (see
 * {@link io.peft4j.core.model.Batch}), and the causal-LM loss of the row is the token-weighted mean of its examples'
 * losses, exactly as trained one by one.
 *
 * <p>Rows are filled first-fit decreasing: examples in order of decreasing length (ties in input order), each into
 * the first row with room, a new row when none has.
 *
 * <pre>{@code
 * List<Packing.Row> rows = Packing.pack(examples, 512);
 * rows.get(0).segments();    // 1 1 1 2 2 3 3 3 3 ...: which example each token is from
 * }</pre>
 */
public final class Packing {
    private Packing() {
    }

    /**
     * One packed row.
     *
     * @param ids       the examples' ids one after another
     * @param lossMask  their loss masks, 0 at each example's first token (predicting it would read the previous example)
     * @param segments  1 + the index within the row of the example each token comes from
     * @param positions each token's position within its own example
     * @param examples  the indexes (into the input list) of the examples, in row order
     */
    public record Row(int[] ids, int[] lossMask, int[] segments, int[] positions, int[] examples) {
        /** Whether token {@code i} may attend to token {@code j}: the same example and {@code j <= i}. */
        public boolean attends(int i, int j) {
            return j <= i && segments[i] == segments[j];
        }

        /** The row's block-diagonal causal mask, {@code [T][T]}. */
        public boolean[][] attentionMask() {
            int t = ids.length;
            boolean[][] m = new boolean[t][t];
            for (int i = 0; i < t; i++) for (int j = 0; j <= i; j++) m[i][j] = segments[i] == segments[j];
            return m;
        }

        public int length() {
            return ids.length;
        }

        /** The row as a training example with its segments, for {@link io.peft4j.core.train.Objectives#causalLm}. */
        public Example.Lm example() {
            return new Example.Lm(ids, lossMask, segments);
        }
    }

    /**
     * Rows packed from examples after the length policy.
     *
     * @param rows      the packed rows
     * @param truncated how many examples were longer than the row length and cut
     * @param skipped   how many were dropped (the policy, or no loss target left after the cut)
     */
    public record Packed(List<Row> rows, int truncated, int skipped) {
        /** The rows as training examples. */
        public List<Example.Lm> examples() {
            return rows.stream().map(Row::example).toList();
        }
    }

    /**
     * Packs {@code examples} into rows of at most {@code maxLength}, an example longer than that first cut or skipped by
     * {@code policy} (never an error). A row's {@link Row#examples} index {@code examples}.
     */
    public static Packed pack(List<Example.Lm> examples, int maxLength, LengthPolicy policy) {
        List<Example.Lm> kept = new ArrayList<>(examples.size());
        List<Integer> index = new ArrayList<>(examples.size());
        int truncated = 0, skipped = 0;
        for (int i = 0; i < examples.size(); i++) {
            Example.Lm e = examples.get(i), f = policy.apply(e, maxLength);
            if (f == null) {
                skipped++;
            } else {
                if (f != e) truncated++;
                kept.add(f);
                index.add(i);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Row r : pack(kept, maxLength)) {
            rows.add(new Row(r.ids(), r.lossMask(), r.segments(), r.positions(), Arrays.stream(r.examples()).map(index::get).toArray()));
        }
        return new Packed(List.copyOf(rows), truncated, skipped);
    }

    /**
     * Packs {@code examples} (each at most {@code maxLength} tokens: a longer one is an {@link IllegalArgumentException};
     * {@link #pack(List, int, LengthPolicy)} cuts it instead) into rows of at most {@code maxLength}.
     */
    public static List<Row> pack(List<Example.Lm> examples, int maxLength) {
        Integer[] order = new Integer[examples.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            int n = examples.get(i).ids().length;
            if (n > maxLength) throw new IllegalArgumentException("example " + i + " has " + n + " tokens, more than the row length " + maxLength);
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> -examples.get(i).ids().length).thenComparingInt(i -> i));
        List<List<Integer>> rows = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int i : order) {
            int n = examples.get(i).ids().length;
            int r = 0;
            while (r < rows.size() && used.get(r) + n > maxLength) r++;
            if (r == rows.size()) {
                rows.add(new ArrayList<>());
                used.add(0);
            }
            rows.get(r).add(i);
            used.set(r, used.get(r) + n);
        }
        List<Row> out = new ArrayList<>(rows.size());
        for (int r = 0; r < rows.size(); r++) {
            int t = used.get(r);
            int[] ids = new int[t], mask = new int[t], seg = new int[t], pos = new int[t];
            int at = 0, s = 0;
            for (int i : rows.get(r)) {
                Example.Lm e = examples.get(i);
                s++;
                for (int j = 0; j < e.ids().length; j++, at++) {
                    ids[at] = e.ids()[j];
                    mask[at] = j == 0 ? 0 : e.lossMask()[j];
                    seg[at] = s;
                    pos[at] = j;
                }
            }
            out.add(new Row(ids, mask, seg, pos, rows.get(r).stream().mapToInt(Integer::intValue).toArray()));
        }
        return out;
    }
}
