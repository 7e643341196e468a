package io.peft4j.fuzz;

import io.peft4j.core.io.TfBundle;
import io.peft4j.fuzz.Mutators.Mutation;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static io.peft4j.fuzz.Mutators.LONGS;

/**
 * Mutations of a TensorFlow bundle index at the level of its entries (shape dimensions, dtype, shard, offset, size,
 * {@code num_shards}, extra fields, removed or renamed entries), written back by {@link TfWriter} so every varint
 * is well formed and the edit reaches the entry checks.
 */
final class TfMutations {
    private TfMutations() {
    }

    /** An edit of the seed bundle's entries, written back with {@link TfWriter}; certainly-invalid edits must be rejected. */
    static Mutation mutate(Path seedIndex, Random rng) throws Exception {
        List<TfWriter.Entry> entries = new ArrayList<>();
        long dataLen;
        try (TfBundle b = TfBundle.open(seedIndex)) {
            for (TfBundle.Entry e : b.entries().values()) {
                entries.add(new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), e.offset(), e.size()));
            }
        }
        dataLen = Files.size(Path.of(seedIndex.toString().replace(".index", ".data-00000-of-00001")));
        int i = rng.nextInt(entries.size());
        TfWriter.Entry e = entries.get(i);
        long numShards = 1;
        String what;
        Supplier<Long> anyLong = () -> LONGS[rng.nextInt(LONGS.length)];
        TfWriter.Entry m;
        switch (rng.nextInt(10)) {
            case 0 -> {
                long[] s = e.shape().length == 0 ? new long[]{0} : e.shape().clone();
                s[rng.nextInt(s.length)] = rng.nextBoolean() ? anyLong.get() : s[0] * 2 + 1;
                m = new TfWriter.Entry(e.name(), e.dtype(), s, e.shard(), e.offset(), e.size());
            }
            case 1 -> m = switch (rng.nextInt(4)) {
                case 0 -> new TfWriter.Entry(e.name(), e.dtype(), new long[]{(1L << 62) + 1}, e.shard(), e.offset(), 4);
                case 1 -> new TfWriter.Entry(e.name(), e.dtype(), new long[]{1L << 31, 1L << 31}, e.shard(), e.offset(), 0);
                case 2 -> new TfWriter.Entry(e.name(), e.dtype(), new long[0], e.shard(), e.offset(), e.size());
                default -> new TfWriter.Entry(e.name(), e.dtype(), reversed(e.shape()), e.shard(), e.offset(), e.size());
            };
            case 2 -> {
                long[] offs = {e.size(), dataLen, dataLen - e.size() + 1, -1, (1L << 63) - (1L << 33) + 1, Long.MAX_VALUE, 1L << 62,
                        e.offset() + 1, e.offset() - 1};
                m = new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), offs[rng.nextInt(offs.length)], e.size());
            }
            case 3 -> {
                long[] sizes = {0, e.size() + 4, e.size() - 4, -1, 1L << 33, 1L << 62, Long.MAX_VALUE};
                m = new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), e.offset(), sizes[rng.nextInt(sizes.length)]);
            }
            case 4 -> {
                long[] shards = {1, 2, -1, 1L << 31, 100_000};
                m = new TfWriter.Entry(e.name(), e.dtype(), e.shape(), shards[rng.nextInt(shards.length)], e.offset(), e.size());
            }
            case 5 -> {
                long[] dtypes = {0, TfWriter.DT_DOUBLE, TfWriter.DT_INT32, TfWriter.DT_STRING, TfWriter.DT_INT64, TfWriter.DT_BFLOAT16,
                        TfWriter.DT_HALF, 100, -1, 1L << 31};
                m = new TfWriter.Entry(e.name(), dtypes[rng.nextInt(dtypes.length)], e.shape(), e.shard(), e.offset(), e.size());
            }
            case 6 -> {
                long[] ns = {0, 2, -1, 1L << 31, 100_001, (1L << 32) + 1};
                numShards = ns[rng.nextInt(ns.length)];
                m = e;
            }
            case 7 -> {
                ByteArrayOutputStream x = new ByteArrayOutputStream();
                String kind;
                switch (rng.nextInt(5)) {
                    case 0 -> {
                        TfWriter.bytesField(x, 7, new byte[]{0x0a, 0x00});
                        kind = "a slices field";
                    }
                    case 1 -> {
                        TfWriter.varint(x, (6 << 3) | 5);
                        x.writeBytes(new byte[]{1, 2, 3, 4});
                        kind = "a crc32c field";
                    }
                    case 2 -> {
                        TfWriter.field(x, 15, anyLong.get());
                        kind = "an unknown varint field";
                    }
                    case 3 -> {
                        TfWriter.varint(x, (9 << 3) | (3 + rng.nextInt(5)));
                        kind = "a field of a bad wire type";
                    }
                    default -> {
                        TfWriter.varint(x, (9 << 3) | 2);
                        long len;
                        do {
                            len = anyLong.get();
                        } while (len >= 0 && len < 64);      // a length the entry's few bytes cannot hold (0 is a valid empty field)
                        TfWriter.varint(x, len);
                        kind = "a length-delimited field of a huge length";
                    }
                }
                m = new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), e.offset(), e.size(), x.toByteArray());
                what = "entry '" + e.name() + "' followed by " + kind;
                entries.set(i, m);
                return new Mutation(TfWriter.index(numShards, entries), what, kind.contains("slices") || kind.contains("wire") || kind.contains("huge"));
            }
            case 8 -> {
                String how;
                if (rng.nextBoolean()) {
                    entries.remove(i);
                    how = "removed";
                } else {
                    entries.set(i, new TfWriter.Entry(e.name() + "_x", e.dtype(), e.shape(), e.shard(), e.offset(), e.size()));
                    how = "renamed";
                }
                return new Mutation(TfWriter.index(numShards, entries), how + " entry '" + e.name() + "'", false);
            }
            default -> m = new TfWriter.Entry(e.name(), e.dtype(), new long[]{1L << 31}, e.shard(), (1L << 63) - (1L << 33) + 1, 1L << 33);
        }
        entries.set(i, m);
        what = (numShards != 1 ? "num_shards " + numShards : "entry '" + e.name() + "' " + describe(e) + " -> " + describe(m));
        String fault = numShards != 1 ? "num_shards" : fault(m, dataLen);
        return new Mutation(TfWriter.index(numShards, entries), what + (fault == null ? "" : " [invalid: " + fault + "]"), fault != null);
    }

    private static String describe(TfWriter.Entry e) {
        return "{dtype " + e.dtype() + ", shape " + Arrays.toString(e.shape()) + ", shard " + e.shard() + ", offset " + e.offset() + ", size " + e.size() + "}";
    }

    /** Why an entry cannot be read from one data shard of {@code dataLen} bytes, or null. */
    static String fault(TfWriter.Entry e, long dataLen) {
        int eb = e.dtype() != (int) e.dtype() ? -1 : switch ((int) e.dtype()) {
            case TfWriter.DT_FLOAT, TfWriter.DT_INT32 -> 4;
            case TfWriter.DT_DOUBLE, TfWriter.DT_INT64 -> 8;
            case TfWriter.DT_HALF, TfWriter.DT_BFLOAT16 -> 2;
            default -> -1;
        };
        if (eb < 0) return "dtype " + e.dtype();
        if (e.shard() != 0) return "shard " + e.shard();
        BigInteger count = BigInteger.ONE;
        for (long d : e.shape()) {
            if (d < 0) return "dimension " + d;
            count = count.multiply(BigInteger.valueOf(d));
        }
        if (!count.multiply(BigInteger.valueOf(eb)).equals(BigInteger.valueOf(e.size()))) return "shape does not fill " + e.size() + " bytes";
        if (e.offset() < 0 || BigInteger.valueOf(e.offset()).add(BigInteger.valueOf(e.size())).compareTo(BigInteger.valueOf(dataLen)) > 0) {
            return "bytes past the data file's end";
        }
        return null;
    }

    private static long[] reversed(long[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }
}
