package io.peft4j.core.hooks;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What every hook sees of the current forward pass: the batch size, whether it is training (dropout on),
 * and an optional tag per row. Tags let one batch carry rows for different adapters: a per-row module
 * applies itself to the rows tagged for it and leaves the others as they are.
 *
 * @param batchSize number of rows B
 * @param rowTags   one tag per row (e.g. an adapter name), or null when every row is treated alike
 * @param training  true while training (dropout active)
 * @param seed      seed for this pass's random draws (dropout)
 */
public record ForwardContext(int batchSize, List<String> rowTags, boolean training, long seed) {
    public ForwardContext {
        if (rowTags != null && rowTags.size() != batchSize) {
            throw new IllegalArgumentException(rowTags.size() + " row tags for a batch of " + batchSize);
        }
    }

    /** An inference pass with no row tags. */
    public static ForwardContext inference(int batchSize) {
        return new ForwardContext(batchSize, null, false, 0);
    }

    /** The rows whose tag equals {@code tag} (all rows when there are no tags and tag is null). */
    public int[] rowsTagged(String tag) {
        if (rowTags == null) return tag == null ? allRows() : new int[0];
        return java.util.stream.IntStream.range(0, batchSize).filter(i -> Objects.equals(rowTags.get(i), tag)).toArray();
    }

    private int[] allRows() {
        int[] r = new int[batchSize];
        Arrays.setAll(r, i -> i);
        return r;
    }
}
