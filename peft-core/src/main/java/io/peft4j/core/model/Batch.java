package io.peft4j.core.model;

import java.util.Arrays;

/**
 * A rectangular batch of token ids with optional token types (BERT segments) and attention mask
 * (1 = real token, 0 = padding). Missing types are zeros; a missing mask is all ones.
 */
public record Batch(int[][] ids, int[][] tokenTypes, int[][] attentionMask) {
    public Batch {
        if (ids.length == 0) throw new IllegalArgumentException("empty batch");
        int t = ids[0].length;
        if (t == 0) throw new IllegalArgumentException("empty sequence");
        for (int[] r : ids) if (r.length != t) throw new IllegalArgumentException("ragged batch: rows of length " + t + " and " + r.length);
        check("token types", tokenTypes, ids.length, t);
        check("attention mask", attentionMask, ids.length, t);
    }

    private static void check(String what, int[][] a, int b, int t) {
        if (a == null) return;
        if (a.length != b) throw new IllegalArgumentException(what + ": " + a.length + " rows for " + b + " sequences");
        for (int[] r : a) if (r.length != t) throw new IllegalArgumentException(what + ": row of length " + r.length + " for sequences of " + t);
    }

    public static Batch of(int[]... ids) {
        return new Batch(ids, null, null);
    }

    public int size() {
        return ids.length;
    }

    public int length() {
        return ids[0].length;
    }

    public int[] flatIds() {
        return Arrays.stream(ids).flatMapToInt(Arrays::stream).toArray();
    }
}
