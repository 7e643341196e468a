package io.peft4j.core.model;

import java.util.Arrays;

/**
 * A rectangular batch of token ids with optional token types (BERT segments) and attention mask
 * (1 = real token, 0 = padding). Missing types are zeros; a missing mask is all ones.
 *
 * <p><b>Packed rows.</b> A decoder row may hold several examples one after another ({@code segments}: 1 + the index of
 * the example each token belongs to, 1, 1, 1, 2, 2, 3, ...; any value ≥ 1 that stays constant within an example and
 * never comes back once left; 0 on padding). Then a token attends only to the earlier tokens of its own example (a
 * block-diagonal causal mask) and {@code positions} (each token's position within its example; derived from the
 * segments when null: 0 at every example's first token) replace the row's running positions, so each example computes
 * exactly as it would alone. Prefix keys and virtual tokens that a method prepends are shared by every example of the
 * row, as each would see them alone. Encoders and key/value-cached passes refuse segments.
 *
 * @param segments  the example of each token of a packed row, or null (each row one example)
 * @param positions each token's position within its example, or null (0, 1, 2, ... per row; per example with segments)
 */
public record Batch(int[][] ids, int[][] tokenTypes, int[][] attentionMask, int[][] segments, int[][] positions) {
    public Batch {
        if (ids.length == 0) throw new IllegalArgumentException("empty batch");
        int t = ids[0].length;
        if (t == 0) throw new IllegalArgumentException("empty sequence");
        for (int[] r : ids) if (r.length != t) throw new IllegalArgumentException("ragged batch: rows of length " + t + " and " + r.length);
        check("token types", tokenTypes, ids.length, t);
        check("attention mask", attentionMask, ids.length, t);
        check("segments", segments, ids.length, t);
        check("positions", positions, ids.length, t);
        if (segments != null) checkSegments(segments, attentionMask);
        if (positions != null) {
            for (int[] r : positions) for (int p : r) if (p < 0) throw new IllegalArgumentException("positions: negative position " + p);
        } else if (segments != null) {
            positions = segmentPositions(segments);
        }
    }

    /** A batch without packed rows. */
    public Batch(int[][] ids, int[][] tokenTypes, int[][] attentionMask) {
        this(ids, tokenTypes, attentionMask, null, null);
    }

    private static void check(String what, int[][] a, int b, int t) {
        if (a == null) return;
        if (a.length != b) throw new IllegalArgumentException(what + ": " + a.length + " rows for " + b + " sequences");
        for (int[] r : a) if (r.length != t) throw new IllegalArgumentException(what + ": row of length " + r.length + " for sequences of " + t);
    }

    /** Real tokens carry a segment ≥ 1; a segment, once left, does not come back (examples are contiguous). */
    private static void checkSegments(int[][] segments, int[][] mask) {
        for (int r = 0; r < segments.length; r++) {
            java.util.Set<Integer> left = new java.util.HashSet<>();
            int cur = 0;
            for (int i = 0; i < segments[r].length; i++) {
                if (mask != null && mask[r][i] == 0) continue;
                int s = segments[r][i];
                if (s < 1) throw new IllegalArgumentException("segments: row " + r + " token " + i + " has segment " + s + " (real tokens need ≥ 1)");
                if (s != cur) {
                    if (left.contains(s)) throw new IllegalArgumentException("segments: row " + r + " returns to segment " + s + " at token " + i);
                    if (cur != 0) left.add(cur);
                    cur = s;
                }
            }
        }
    }

    /** Positions counted from 0 at each change of segment. */
    private static int[][] segmentPositions(int[][] segments) {
        int[][] p = new int[segments.length][];
        for (int r = 0; r < segments.length; r++) {
            p[r] = new int[segments[r].length];
            for (int i = 1; i < p[r].length; i++) p[r][i] = segments[r][i] == segments[r][i - 1] ? p[r][i - 1] + 1 : 0;
        }
        return p;
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

    /** Whether some row holds packed examples ({@link #segments} given). */
    public boolean packed() {
        return segments != null;
    }

    public int[] flatIds() {
        return Arrays.stream(ids).flatMapToInt(Arrays::stream).toArray();
    }
}
