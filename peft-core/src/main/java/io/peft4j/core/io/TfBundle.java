package io.peft4j.core.io;

import io.peft4j.core.PeftException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A TensorFlow tensor bundle ({@code PREFIX.index} + {@code PREFIX.data-NNNNN-of-NNNNN}), as written by
 * {@code tf.train.Saver} / SavedModel. The index is a LevelDB-format table mapping each tensor name to a
 * {@code BundleEntryProto}; both are parsed here directly, with every length and offset checked against
 * the file sizes.
 */
public final class TfBundle implements Checkpoint {
    private static final long TABLE_MAGIC = 0xdb4775248b80fb57L;
    private static final int MAX_INDEX_BYTES = 64 * 1024 * 1024;

    /** One tensor's place in the data shards. */
    public record Entry(String name, int dtype, long[] shape, int shard, long offset, long size) {
    }

    private final Path index;
    private final Map<String, Entry> entries;
    private final FileChannel[] shards;
    private final Path[] shardPaths;

    private TfBundle(Path index, Map<String, Entry> entries, FileChannel[] shards, Path[] shardPaths) {
        this.index = index;
        this.entries = entries;
        this.shards = shards;
        this.shardPaths = shardPaths;
    }

    /** Opens {@code prefix.index} (pass the index file or the prefix). */
    public static TfBundle open(Path indexOrPrefix) {
        Path index = indexOrPrefix.toString().endsWith(".index") ? indexOrPrefix : Path.of(indexOrPrefix + ".index");
        byte[] bytes;
        try {
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) throw PeftException.inFile(index, "corrupt TensorFlow index: " + size + " bytes is larger than any tensor-bundle index");
            bytes = Files.readAllBytes(index);
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(index, "file not found");
        } catch (IOException e) {
            throw PeftException.inFile(index, "cannot read: " + e.getMessage());
        }
        Map<String, byte[]> table;
        try {
            table = readTable(bytes);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw PeftException.inFile(index, "corrupt TensorFlow index: " + e.getMessage());
        }
        int numShards = 1;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> kv : table.entrySet()) {
            try {
                if (kv.getKey().isEmpty()) {
                    numShards = parseHeader(kv.getValue());
                } else {
                    entries.put(kv.getKey(), parseEntry(kv.getKey(), kv.getValue()));
                }
            } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
                throw PeftException.inFile(index, "corrupt TensorFlow index: entry '" + kv.getKey() + "': " + e.getMessage());
            }
        }
        if (numShards < 1 || numShards > 100_000) throw PeftException.inFile(index, "corrupt TensorFlow index: " + numShards + " shards");
        String prefix = index.toString().substring(0, index.toString().length() - ".index".length());
        Path[] paths = new Path[numShards];
        FileChannel[] chans = new FileChannel[numShards];
        try {
            for (int s = 0; s < numShards; s++) {
                paths[s] = Path.of(String.format("%s.data-%05d-of-%05d", prefix, s, numShards));
                try {
                    chans[s] = FileChannel.open(paths[s], StandardOpenOption.READ);
                } catch (NoSuchFileException e) {
                    throw PeftException.inFile(paths[s], "data shard not found (named by " + index.getFileName() + ")");
                }
            }
            for (Entry e : entries.values()) check(index, e, numShards, paths, chans);
        } catch (IOException e) {
            closeAll(chans);
            throw PeftException.inFile(index, "cannot read data shards: " + e.getMessage());
        } catch (RuntimeException e) {
            closeAll(chans);
            throw e;
        }
        return new TfBundle(index, entries, chans, paths);
    }

    /**
     * Checks an index entry against the data before anything is read: its shard exists, its byte range lies
     * inside that shard (a comparison that cannot wrap), and, for number types, its shape times the element
     * width is exactly its size (overflow-checked), so no entry can claim more elements than its bytes hold.
     */
    private static void check(Path index, Entry e, int numShards, Path[] paths, FileChannel[] chans) throws IOException {
        String where = "corrupt TensorFlow index: tensor '" + e.name() + "': ";
        if (e.shard() < 0 || e.shard() >= numShards) throw PeftException.inFile(index, where + "shard " + e.shard() + " of " + numShards);
        long fsize = chans[e.shard()].size();
        if (e.offset() < 0 || e.size() < 0 || e.offset() > fsize || e.size() > fsize - e.offset()) {
            throw PeftException.inFile(index, where + "bytes " + Long.toUnsignedString(e.offset()) + " + " + Long.toUnsignedString(e.size())
                    + " lie past the end of data shard " + paths[e.shard()].getFileName() + " (" + fsize + " bytes)");
        }
        String dtype = DTYPES.get(e.dtype());
        if (dtype == null) return;     // not a number type: refused if it is ever loaded
        long count = 1, bytes;
        try {
            for (long d : e.shape()) count = Math.multiplyExact(count, d);
            bytes = Math.multiplyExact(count, SafeTensors.dtypeBytes(dtype));
        } catch (ArithmeticException overflow) {
            throw PeftException.inFile(index, where + "shape " + Arrays.toString(e.shape()) + " overflows");
        }
        if (bytes != e.size()) {
            throw PeftException.inFile(index, where + "shape " + Arrays.toString(e.shape()) + " of " + dtype + " needs " + bytes
                    + " bytes but the entry has " + e.size());
        }
        if (count > Numbers.MAX_ELEMENTS) {
            throw PeftException.inFile(index, where + "shape " + Arrays.toString(e.shape()) + " has " + count + " elements, more than the "
                    + Numbers.MAX_ELEMENTS + " one tensor may have");
        }
    }

    // ------------------------------------------------------------------ LevelDB table

    private static Map<String, byte[]> readTable(byte[] f) {
        if (f.length < 48) throw new IllegalArgumentException("file is " + f.length + " bytes, shorter than a table footer");
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(f.length - 8) != TABLE_MAGIC) throw new IllegalArgumentException("bad table magic number");
        int[] pos = {f.length - 48};
        varint(f, pos); // metaindex offset
        varint(f, pos); // metaindex size
        long idxOff = varint(f, pos), idxSize = varint(f, pos);
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> ie : readBlock(f, idxOff, idxSize).entrySet()) {
            int[] p = {0};
            byte[] h = ie.getValue();
            long off = varint(h, p), size = varint(h, p);
            out.putAll(readBlock(f, off, size));
        }
        return out;
    }

    private static Map<String, byte[]> readBlock(byte[] f, long off, long size) {
        if (off < 0 || size < 4 || off > f.length || size > f.length - off - 5) throw new IllegalArgumentException("block at " + off + "+" + size + " outside the file");
        int start = (int) off, end = (int) (off + size);
        int type = f[end];
        if (type != 0) throw new IllegalArgumentException("block compression type " + type + " is not supported (only uncompressed tables)");
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        int numRestarts = b.getInt(end - 4);
        if (numRestarts < 0 || (long) numRestarts * 4 + 4 > size) throw new IllegalArgumentException("bad restart count " + numRestarts);
        int limit = end - 4 - numRestarts * 4;
        Map<String, byte[]> out = new LinkedHashMap<>();
        byte[] key = new byte[0];
        int[] p = {start};
        while (p[0] < limit) {
            int shared = intVarint(f, p), nonShared = intVarint(f, p), valueLen = intVarint(f, p);
            if (shared < 0 || shared > key.length || nonShared < 0 || valueLen < 0 || p[0] + (long) nonShared + valueLen > limit) {
                throw new IllegalArgumentException("bad block entry at byte " + p[0]);
            }
            byte[] k = Arrays.copyOf(key, shared + nonShared);
            System.arraycopy(f, p[0], k, shared, nonShared);
            p[0] += nonShared;
            out.put(new String(k, StandardCharsets.UTF_8), Arrays.copyOfRange(f, p[0], p[0] + valueLen));
            p[0] += valueLen;
            key = k;
        }
        return out;
    }

    /** A varint that must fit an int (a length, a count, an enum value). */
    private static int intVarint(byte[] b, int[] pos) {
        long v = varint(b, pos);
        if (v < 0 || v > Integer.MAX_VALUE) throw new IllegalArgumentException("value " + Long.toUnsignedString(v) + " out of range");
        return (int) v;
    }

    private static long varint(byte[] b, int[] pos) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= b.length) throw new IllegalArgumentException("truncated varint");
            byte x = b[pos[0]++];
            result |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) return result;
        }
        throw new IllegalArgumentException("malformed varint");
    }

    // ------------------------------------------------------------------ protobuf messages

    private static int parseHeader(byte[] m) {
        int[] p = {0};
        int shards = 1;
        while (p[0] < m.length) {
            long tag = varint(m, p);
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            if (field == 1 && wire == 0) {
                shards = intVarint(m, p);
            } else if (field == 2 && wire == 0) {
                if (varint(m, p) != 0) throw new IllegalArgumentException("big-endian bundles are not supported");   // 0 is LITTLE
            } else {
                skip(m, p, wire);
            }
        }
        return shards;
    }

    private static Entry parseEntry(String name, byte[] m) {
        int[] p = {0};
        int dtype = 0, shard = 0;
        long offset = 0, size = 0;
        long[] shape = new long[0];
        while (p[0] < m.length) {
            long tag = varint(m, p);
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            switch (field) {
                case 1 -> dtype = intVarint(m, p);
                case 2 -> {
                    int len = intVarint(m, p);
                    shape = parseShape(Arrays.copyOfRange(m, p[0], checkedEnd(m, p[0], len)));
                    p[0] += len;
                }
                case 3 -> shard = intVarint(m, p);
                case 4 -> offset = varint(m, p);
                case 5 -> size = varint(m, p);
                case 7 -> throw new IllegalArgumentException("sliced (partitioned) tensors are not supported");
                default -> skip(m, p, wire);
            }
        }
        return new Entry(name, dtype, shape, shard, offset, size);
    }

    private static long[] parseShape(byte[] m) {
        int[] p = {0};
        long[] dims = new long[0];
        while (p[0] < m.length) {
            long tag = varint(m, p);
            int field = (int) (tag >>> 3), wire = (int) (tag & 7);
            if (field == 2 && wire == 2) {
                int len = intVarint(m, p);
                int end = checkedEnd(m, p[0], len);
                long size = 0;
                while (p[0] < end) {
                    long t = varint(m, p);
                    if ((t >>> 3) == 1 && (t & 7) == 0) size = varint(m, p);
                    else skip(m, p, (int) (t & 7));
                }
                if (size < 0) throw new IllegalArgumentException("negative dimension");
                dims = Arrays.copyOf(dims, dims.length + 1);
                dims[dims.length - 1] = size;
            } else {
                skip(m, p, wire);
            }
        }
        return dims;
    }

    private static int checkedEnd(byte[] m, int pos, int len) {
        if (len < 0 || pos + (long) len > m.length) throw new IllegalArgumentException("field length " + len + " past the end of the message");
        return pos + len;
    }

    private static void skip(byte[] m, int[] p, int wire) {
        switch (wire) {
            case 0 -> varint(m, p);
            case 1 -> p[0] = checkedEnd(m, p[0], 8);
            case 2 -> {
                int len = intVarint(m, p);
                p[0] = checkedEnd(m, p[0], len);
            }
            case 5 -> p[0] = checkedEnd(m, p[0], 4);
            default -> throw new IllegalArgumentException("unknown protobuf wire type " + wire);
        }
    }

    // ------------------------------------------------------------------ Checkpoint

    public Map<String, Entry> entries() {
        return entries;
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public long[] shape(String name) {
        return entry(name).shape().clone();
    }

    @Override
    /** The index: it records every tensor's name, type and shape (the data shards hold only bytes). */
    public String fileOf(String name) {
        entry(name);
        return index.toString();
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw PeftException.inFile(index, "no tensor named '" + name + "'");
        return e;
    }

    private static final Map<Integer, String> DTYPES = new HashMap<>(Map.of(1, "F32", 2, "F64", 3, "I32", 9, "I64", 19, "F16", 14, "BF16"));

    @Override
    public INDArray load(String name, DataType type) {
        Entry e = entry(name);
        String dtype = DTYPES.get(e.dtype());
        if (dtype == null) throw PeftException.inFile(index, "tensor '" + name + "' has TensorFlow dtype " + e.dtype() + ", not a number type peft4j reads");
        int count = (int) (e.size() / SafeTensors.dtypeBytes(dtype));     // open() checked shape, size and bounds
        try {
            return Numbers.read(shards[e.shard()], e.offset(), dtype, count, e.shape(), type);
        } catch (IOException ex) {
            throw PeftException.inFile(shardPaths[e.shard()], "cannot read tensor '" + name + "': " + ex.getMessage());
        }
    }

    @Override
    public void close() {
        closeAll(shards);
    }

    private static void closeAll(FileChannel[] chans) {
        for (FileChannel c : chans) {
            if (c == null) continue;
            try {
                c.close();
            } catch (IOException ignored) {
                // read-only
            }
        }
    }
}
