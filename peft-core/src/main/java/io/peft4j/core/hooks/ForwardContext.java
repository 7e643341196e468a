package io.peft4j.core.hooks;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What every hook sees of the current forward pass: the batch size, whether it is training (dropout on),
 * an optional tag per row, and optional attachments. Tags let one batch carry rows for different adapters:
 * a per-row module applies itself to the rows tagged for it and leaves the others as they are.
 * Attachments carry per-pass data from the caller to a hook that needs more than the embeddings it is
 * given, keyed by their type (a prompt template's soft tokens: which positions of which rows they replace).
 *
 * @param batchSize   number of rows B
 * @param rowTags     one tag per row (e.g. an adapter name), or null when every row is treated alike
 * @param training    true while training (dropout active)
 * @param seed        seed for this pass's random draws (dropout)
 * @param attachments per-pass data for hooks, by type (never null; see {@link #with})
 */
public record ForwardContext(int batchSize, List<String> rowTags, boolean training, long seed, Map<Class<?>, Object> attachments) {
    public ForwardContext {
        if (rowTags != null && rowTags.size() != batchSize) {
            throw new IllegalArgumentException(rowTags.size() + " row tags for a batch of " + batchSize);
        }
        attachments = attachments == null ? Map.of() : Map.copyOf(attachments);
    }

    /** A pass without attachments. */
    public ForwardContext(int batchSize, List<String> rowTags, boolean training, long seed) {
        this(batchSize, rowTags, training, seed, Map.of());
    }

    /** An inference pass with no row tags. */
    public static ForwardContext inference(int batchSize) {
        return new ForwardContext(batchSize, null, false, 0);
    }

    /** This context with {@code rowTags} (null: none) instead of its own. */
    public ForwardContext withRowTags(List<String> rowTags) {
        return new ForwardContext(batchSize, rowTags, training, seed, attachments);
    }

    /** This context with {@code value} attached under {@code type}, replacing an attachment of that type. */
    public <T> ForwardContext with(Class<T> type, T value) {
        Map<Class<?>, Object> m = new HashMap<>(attachments);
        m.put(type, type.cast(Objects.requireNonNull(value, "attachment")));
        return new ForwardContext(batchSize, rowTags, training, seed, m);
    }

    /** The attachment of {@code type}, or null when the caller attached none. */
    public <T> T attachment(Class<T> type) {
        return type.cast(attachments.get(type));
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
