package io.peft4j.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Writes a TensorFlow tensor-bundle index ({@code variables.index}): an uncompressed LevelDB table (one data
 * block, one index block, the 48-byte footer) whose values are {@code BundleHeaderProto} (key "") and one
 * {@code BundleEntryProto} per tensor. Every length and number is a real varint, so blocks and messages of any
 * size work, and any 64-bit value (a negative one as its 10-byte two's complement form) can be written.
 * Block trailers carry LevelDB's masked CRC-32C.
 */
final class TfWriter {
    /** TensorFlow's DataType enum numbers for the dtypes peft4j reads. */
    static final int DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_STRING = 7, DT_INT64 = 9, DT_BFLOAT16 = 14, DT_HALF = 19;

    /** One {@code BundleEntryProto}; {@code extra} is appended raw (unknown or unsupported fields). */
    record Entry(String name, long dtype, long[] shape, long shard, long offset, long size, byte[] extra) {
        Entry(String name, long dtype, long[] shape, long shard, long offset, long size) {
            this(name, dtype, shape, shard, offset, size, new byte[0]);
        }
    }

    private TfWriter() {
    }

    /** The index bytes for a bundle of {@code numShards} data files holding {@code entries}. */
    static byte[] index(long numShards, List<Entry> entries) {
        return index(header(numShards, false), entries);
    }

    /** The index bytes with the given {@code BundleHeaderProto} bytes. */
    static byte[] index(byte[] header, List<Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparing(e -> e.name().getBytes(StandardCharsets.UTF_8), java.util.Arrays::compareUnsigned));
        List<byte[]> keys = new ArrayList<>(), values = new ArrayList<>();
        keys.add(new byte[0]);
        values.add(header);
        for (Entry e : sorted) {
            keys.add(e.name().getBytes(StandardCharsets.UTF_8));
            values.add(entry(e));
        }
        return table(keys, values);
    }

    /**
     * A {@code BundleHeaderProto} as TensorFlow writes it: {@code num_shards} and {@code version {producer: 1}}; the
     * endianness is LITTLE, proto3's default, so it is not written unless {@code explicitEndianness}.
     */
    static byte[] header(long numShards, boolean explicitEndianness) {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        field(m, 1, numShards);
        if (explicitEndianness) field(m, 2, 0);
        ByteArrayOutputStream version = new ByteArrayOutputStream();
        field(version, 1, 1);
        bytesField(m, 3, version.toByteArray());
        return m.toByteArray();
    }

    static byte[] entry(Entry e) {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        field(m, 1, e.dtype());
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        for (long d : e.shape()) {
            ByteArrayOutputStream dim = new ByteArrayOutputStream();
            field(dim, 1, d);       // TensorShapeProto.Dim.size
            bytesField(shape, 2, dim.toByteArray());
        }
        bytesField(m, 2, shape.toByteArray());
        if (e.shard() != 0) field(m, 3, e.shard());
        if (e.offset() != 0) field(m, 4, e.offset());
        field(m, 5, e.size());
        m.writeBytes(e.extra());
        return m.toByteArray();
    }

    /** A table with one data block holding {@code keys} (sorted, unique) and their values. */
    static byte[] table(List<byte[]> keys, List<byte[]> values) {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        byte[] data = block(keys, values);
        writeBlock(f, data);
        ByteArrayOutputStream handle = new ByteArrayOutputStream();
        varint(handle, 0);
        varint(handle, data.length);
        byte[] index = block(List.of(new byte[]{(byte) 0xff}), List.of(handle.toByteArray()));
        long indexOffset = f.size();
        writeBlock(f, index);
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        varint(footer, 0);          // metaindex handle: empty
        varint(footer, 0);
        varint(footer, indexOffset);
        varint(footer, index.length);
        byte[] fb = java.util.Arrays.copyOf(footer.toByteArray(), 48);
        ByteBuffer.wrap(fb).order(ByteOrder.LITTLE_ENDIAN).putLong(40, 0xdb4775248b80fb57L);
        f.writeBytes(fb);
        return f.toByteArray();
    }

    private static byte[] block(List<byte[]> keys, List<byte[]> values) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < keys.size(); i++) {
            varint(b, 0);                       // shared key bytes (no prefix compression)
            varint(b, keys.get(i).length);
            varint(b, values.get(i).length);
            b.writeBytes(keys.get(i));
            b.writeBytes(values.get(i));
        }
        ByteBuffer restarts = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(1);
        b.writeBytes(restarts.array());
        return b.toByteArray();
    }

    /** The block, then its trailer: compression type 0 and the masked CRC-32C of block + type. */
    private static void writeBlock(ByteArrayOutputStream f, byte[] block) {
        CRC32C crc = new CRC32C();
        crc.update(block);
        crc.update(0);
        int c = (int) crc.getValue();
        int masked = ((c >>> 15) | (c << 17)) + 0xa282ead8;
        f.writeBytes(block);
        f.write(0);
        f.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(masked).array());
    }

    static void field(ByteArrayOutputStream m, int number, long value) {
        varint(m, (long) number << 3);
        varint(m, value);
    }

    static void bytesField(ByteArrayOutputStream m, int number, byte[] value) {
        varint(m, ((long) number << 3) | 2);
        varint(m, value.length);
        m.writeBytes(value);
    }

    /** Base-128 varint of the unsigned 64-bit value (10 bytes for a negative long, as protobuf writes int64). */
    static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
