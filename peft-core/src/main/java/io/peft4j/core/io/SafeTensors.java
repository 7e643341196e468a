package io.peft4j.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}}, then raw
 * little-endian data. Reading validates the header against the file before touching any data, so a
 * hostile or truncated file gives an error naming the fault, never an out-of-memory or a crash.
 */
public final class SafeTensors implements Checkpoint {
    /** Headers larger than this are refused (the format's own reference limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** One stored tensor. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Bytes per element of a safetensors dtype, or -1 if unknown. */
    static int dtypeBytes(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    /** Opens and validates {@code file}; the caller closes it. */
    public static SafeTensors open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(file, "file not found");
        } catch (IOException e) {
            throw PeftException.inFile(file, "cannot open: " + e.getMessage());
        }
        try {
            return parse(file, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafeTensors parse(Path file, FileChannel ch) {
        try {
            long size = ch.size();
            if (size < 8) throw PeftException.inFile(file, "truncated safetensors file: " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            Numbers.readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > size - 8) {
                throw PeftException.inFile(file, "corrupt safetensors header: header length " + Long.toUnsignedString(headerLen)
                        + " is past the end of the file (" + size + " bytes)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw PeftException.inFile(file, "corrupt safetensors header: header length " + headerLen + " exceeds the " + MAX_HEADER_BYTES + "-byte limit");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            Numbers.readFully(ch, hb, 8);
            JsonNode header = parseHeader(file, hb.array());
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                JsonNode v = f.getValue();
                if (name.equals("__metadata__")) {
                    if (!v.isObject()) throw PeftException.inFile(file, "corrupt safetensors header: __metadata__ is not an object");
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(name, parseEntry(file, name, v, dataLen));
            }
            checkContiguous(file, entries.values(), dataLen);
            return new SafeTensors(file, ch, dataStart, entries, Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw PeftException.inFile(file, "cannot read: " + e.getMessage());
        }
    }

    /**
     * The header: one JSON object that begins at its first byte and ends where the data begins, padded with
     * spaces, as the format's specification says. A header length one byte short or long therefore never passes: the object is cut,
     * or a data byte follows it; where that byte is a space, {@link #checkContiguous} catches the shifted data.
     */
    private static JsonNode parseHeader(Path file, byte[] bytes) {
        if (bytes[0] != '{') {
            throw PeftException.inFile(file, "corrupt safetensors header: it must begin with '{', not byte " + String.format("0x%02x", bytes[0] & 0xff));
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == ' ') end--;
        String source = file + ": corrupt safetensors header";
        JsonNode header = Json.parse(source, TextFiles.decode(source, Arrays.copyOf(bytes, end)));
        if (!header.isObject()) throw PeftException.inFile(file, "corrupt safetensors header: not a JSON object");
        return header;
    }

    /**
     * The tensors must tile the data section: sorted by offset, the first begins at 0, each begins where the
     * previous one ends, and the last ends at the end of the file (the reference implementation's rule). A
     * shifted header, a gap or an overlap is refused here, before any tensor is read.
     */
    private static void checkContiguous(Path file, java.util.Collection<Entry> entries, long dataLen) {
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        String prev = null;
        for (Entry e : byOffset) {
            if (e.begin() < at) {
                throw PeftException.inFile(file, "corrupt safetensors header: tensors '" + prev + "' and '" + e.name()
                        + "' overlap (tensor '" + e.name() + "' begins at " + e.begin() + ", before byte " + at + ")");
            }
            if (e.begin() > at) {
                throw PeftException.inFile(file, "corrupt safetensors header: bytes " + at + ".." + e.begin() + " of the data section belong to no tensor"
                        + " (tensor '" + e.name() + "' begins at " + e.begin() + ")");
            }
            at = e.end();
            prev = e.name();
        }
        if (at != dataLen) {
            throw PeftException.inFile(file, "corrupt safetensors header: the tensors end at byte " + at + " of the data section, which has "
                    + dataLen + " bytes (wrong header length, or a truncated or extended file)");
        }
    }

    private static Entry parseEntry(Path file, String name, JsonNode v, long dataLen) {
        String where = "corrupt safetensors header: tensor '" + name + "': ";
        if (!v.isObject()) throw PeftException.inFile(file, where + "entry is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw PeftException.inFile(file, where + "missing dtype");
        String dtype = dt.asText();
        int eb = dtypeBytes(dtype);
        if (eb < 0) throw PeftException.inFile(file, where + "unknown dtype '" + dtype + "'");
        if (sh == null || !sh.isArray()) throw PeftException.inFile(file, where + "missing shape");
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!isLong(d) || d.asLong() < 0) throw PeftException.inFile(file, where + "bad dimension " + d + " in shape");
            shape[i] = d.asLong();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException e) {
                throw PeftException.inFile(file, where + "shape " + sh + " overflows");
            }
        }
        if (off == null || !off.isArray() || off.size() != 2 || !isLong(off.get(0)) || !isLong(off.get(1))) {
            throw PeftException.inFile(file, where + "missing or malformed data_offsets");
        }
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw PeftException.inFile(file, where + "data_offsets [" + begin + ", " + end + "] lie outside the data section (" + dataLen + " bytes)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(count, eb);
        } catch (ArithmeticException e) {
            throw PeftException.inFile(file, where + "shape " + sh + " overflows");
        }
        if (end - begin != expected) {
            throw PeftException.inFile(file, where + "shape " + Arrays.toString(shape) + " of " + dtype + " needs " + expected
                    + " bytes but data_offsets span " + (end - begin));
        }
        if (count > Numbers.MAX_ELEMENTS) {
            throw PeftException.inFile(file, where + "shape " + Arrays.toString(shape) + " has " + count + " elements, more than the "
                    + Numbers.MAX_ELEMENTS + " one tensor may have");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static boolean isLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong();
    }

    public Path file() {
        return file;
    }

    @Override
    public Path path() {
        return file;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
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
    public String fileOf(String name) {
        return file.toString();
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw PeftException.inFile(file, "no tensor named '" + name + "'");
        return e;
    }

    @Override
    public INDArray load(String name, DataType type) {
        Entry e = entry(name);
        int n = (int) ((e.end() - e.begin()) / dtypeBytes(e.dtype()));     // parseEntry bounds it
        try {
            return Numbers.read(channel, dataStart + e.begin(), e.dtype(), n, e.shape(), type);
        } catch (IOException ex) {
            throw PeftException.inFile(file, "cannot read tensor '" + name + "': " + ex.getMessage());
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing was written
        }
    }

    /**
     * Writes {@code tensors} (float32 arrays as F32, float64 as F64) with {@code metadata}, atomically: the
     * target is either the old file or the complete new one.
     */
    public static void write(Path target, Map<String, INDArray> tensors, Map<String, String> metadata) {
        ObjectNode header = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        List<INDArray> order = new ArrayList<>();
        for (Map.Entry<String, INDArray> t : new TreeMap<>(tensors).entrySet()) {
            INDArray a = t.getValue();
            String dtype = switch (a.dataType()) {
                case DOUBLE -> "F64";
                case FLOAT -> "F32";
                default -> throw new IllegalArgumentException(t.getKey() + ": cannot write dtype " + a.dataType());
            };
            long bytes = a.length() * (dtype.equals("F64") ? 8 : 4);
            ObjectNode e = header.putObject(t.getKey());
            e.put("dtype", dtype);
            var shape = e.putArray("shape");
            for (long d : a.shape()) shape.add(d);
            var offs = e.putArray("data_offsets");
            offs.add(offset);
            offs.add(offset + bytes);
            offset += bytes;
            order.add(a);
        }
        byte[] json;
        try {
            json = Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] hdr = Arrays.copyOf(json, padded);
        Arrays.fill(hdr, json.length, padded, (byte) ' ');
        AtomicFiles.write(target, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            writeAll(ch, len);
            writeAll(ch, ByteBuffer.wrap(hdr));
            for (INDArray a : order) writeAll(ch, Numbers.toLittleEndianBytes(a));
        });
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Reads every tensor of a file into memory. */
    public static Map<String, INDArray> readAll(Path file, DataType type) {
        try (SafeTensors st = open(file)) {
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (String n : st.names()) out.put(n, st.load(n, type));
            return out;
        }
    }
}
