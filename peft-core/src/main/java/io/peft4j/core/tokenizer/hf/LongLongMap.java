package io.peft4j.core.tokenizer.hf;

import java.util.Arrays;

/** An open-addressing map from non-negative long keys to long values: BPE's pair-to-merge table without boxing. */
final class LongLongMap {
    static final long MISSING = Long.MIN_VALUE;
    private final long[] keys, values;
    private final int mask;
    private int size;

    LongLongMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        Arrays.fill(keys, -1L);
        mask = cap - 1;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Sets {@code key} (non-negative) to {@code value}, replacing any earlier value. */
    void put(long key, long value) {
        int i = slot(key);
        while (keys[i] != -1L && keys[i] != key) i = (i + 1) & mask;
        if (keys[i] == -1L) {
            if (++size > keys.length * 3 / 4) throw new IllegalStateException("LongLongMap sized for fewer entries");
            keys[i] = key;
        }
        values[i] = value;
    }

    /** The value of {@code key}, or {@link #MISSING}. */
    long get(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) return values[i];
            if (k == -1L) return MISSING;
            i = (i + 1) & mask;
        }
    }

    int size() {
        return size;
    }
}
