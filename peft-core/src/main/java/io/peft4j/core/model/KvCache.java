package io.peft4j.core.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Keys and values of the positions a {@link Decoder} has already processed, per layer {@code [B, T, W]} (the
 * key/value heads side by side in W: the hidden width for GPT-2, {@code num_key_value_heads · head_dim} for the
 * Llama family, whose keys are stored after their rotation), kept outside any workspace so that they survive between generation steps. Prefix-tuning prefixes are stored
 * here on the first step, exactly as Hugging Face's {@code past_key_values}.
 */
public final class KvCache {
    private final INDArray[] keys, values;
    private int[][] keyMask;
    private int[] nextPosition;

    public KvCache(int layers) {
        keys = new INDArray[layers];
        values = new INDArray[layers];
    }

    /** Positions cached so far (prefix included). */
    public int length() {
        return keys[0] == null ? 0 : (int) keys[0].size(1);
    }

    INDArray keys(int layer) {
        return keys[layer];
    }

    INDArray values(int layer) {
        return values[layer];
    }

    int[][] keyMask() {
        return keyMask;
    }

    void store(int layer, INDArray k, INDArray v) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            keys[layer] = k.dup('c');
            values[layer] = v.dup('c');
        }
    }

    /** Rows of the cached batch (0 before the first step). */
    int batchSize() {
        return keyMask == null ? 0 : keyMask.length;
    }

    /** The position id the next token of row r takes. */
    int nextPosition(int r) {
        return nextPosition[r];
    }

    /**
     * After a step over {@code width} positions per row with the given position ids ({@code [B * width]}):
     * keeps the key mask of everything cached and each row's next position id.
     */
    void advance(int[][] mask, int[] positions, int width) {
        keyMask = mask;
        nextPosition = new int[mask.length];
        for (int r = 0; r < mask.length; r++) nextPosition[r] = positions[r * width + width - 1] + 1;
    }
}
