package io.peft4j.fuzz;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.peft4j.fuzz.JsonMutations.Edit;
import io.peft4j.fuzz.Mutators.Mutation;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.peft4j.fuzz.JsonMutations.PLAIN;
import static io.peft4j.fuzz.JsonMutations.jsonEdit;
import static io.peft4j.fuzz.Mutators.LONGS;
import static io.peft4j.fuzz.Mutators.concat;
import static io.peft4j.fuzz.Mutators.pick;

/**
 * Structure-aware mutations of safetensors files, and {@link #fault}: whether a file breaks the format's rules, so
 * that one that does must be rejected whatever mutation made it.
 */
final class SafetensorsMutations {
    static final String[] DTYPES = {"F16", "BF16", "F64", "F32", "I32", "I64", "U8", "I8", "BOOL", "U16", "U32", "U64",
            "F8_E4M3", "F8_E5M2", "f32", "", "F32 ", "float32"};
    /** A strict reader: trailing tokens and duplicate keys are errors. */
    private static final ObjectMapper STRICT = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private SafetensorsMutations() {
    }

    /** The parts of a safetensors file. */
    record St(long headerLen, byte[] header, byte[] data) {
        static St parse(byte[] f) {
            if (f.length < 8) return null;
            long len = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (len < 0 || len > f.length - 8) return null;
            return new St(len, Arrays.copyOfRange(f, 8, 8 + (int) len), Arrays.copyOfRange(f, 8 + (int) len, f.length));
        }

        static byte[] write(long len, byte[] header, byte[] data) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
            return concat(b.array(), header, data);
        }

        /** Header JSON padded with spaces to a multiple of 8, as safetensors writes it. */
        static byte[] padded(byte[] json) {
            byte[] h = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
            Arrays.fill(h, json.length, h.length, (byte) ' ');
            return h;
        }
    }

    /** One edit of the length field, the header JSON, its padding or the data section; null when {@code f} does not parse. */
    static Mutation mutate(byte[] f, Random rng) throws Exception {
        St st = St.parse(f);
        if (st == null) return null;
        ObjectNode header = (ObjectNode) PLAIN.readTree(st.header());
        List<String> tensors = new ArrayList<>();
        header.fieldNames().forEachRemaining(n -> {
            if (!n.equals("__metadata__")) tensors.add(n);
        });
        if (tensors.isEmpty()) return null;
        String t = pick(tensors, rng);
        ObjectNode entry = (ObjectNode) header.get(t);
        JsonNodeFactory nf = JsonNodeFactory.instance;
        Edit edit = new Edit(header);
        String what;
        switch (rng.nextInt(12)) {
            case 0 -> {
                long[] lens = {st.headerLen() + 1, st.headerLen() - 1, st.headerLen() + 8, st.headerLen() - 8, 0, 1, 1L << 62, -1,
                        Long.MIN_VALUE, (1L << 32) + st.headerLen(), f.length, f.length - 7};
                long len = lens[rng.nextInt(lens.length)];
                return new Mutation(St.write(len, st.header(), st.data()), "header length " + st.headerLen() + " -> " + Long.toUnsignedString(len), true);
            }
            case 1 -> {
                ArrayNode shape = (ArrayNode) entry.get("shape");
                ArrayNode s = nf.arrayNode();
                switch (rng.nextInt(6)) {
                    case 0 -> {
                        shape.forEach(s::add);
                        int i = shape.isEmpty() ? -1 : rng.nextInt(shape.size());
                        long v = LONGS[rng.nextInt(LONGS.length)];
                        if (i < 0) s.add(v);
                        else s.set(i, nf.numberNode(v));
                    }
                    case 1 -> s.add(1L << 31).add(1L << 31);
                    case 2 -> s.add((1L << 62) + 1);
                    case 3 -> {
                        List<JsonNode> l = new ArrayList<>();
                        shape.forEach(l::add);
                        java.util.Collections.reverse(l);
                        s.addAll(l);             // the same elements in another order
                    }
                    case 4 -> {
                        shape.forEach(s::add);
                        if (rng.nextBoolean()) s.add(1);
                        else s.insert(0, 1);
                    }
                    default -> {
                        shape.forEach(s::add);
                        if (!s.isEmpty()) s.set(rng.nextInt(s.size()), edit.raw(pick(new String[]{"1.5", "\"2\"", "null", "true", "-0", "4.0"}, rng)));
                    }
                }
                entry.set("shape", s);
                what = "shape of '" + t + "' " + shape + " -> " + s;
            }
            case 2 -> {
                String d = pick(DTYPES, rng);
                what = "dtype of '" + t + "' -> '" + d + "'";
                entry.put("dtype", d);
                if (rng.nextBoolean() && entry.get("shape").size() > 0) {
                    // keep the byte size right: F16/BF16 double the last dimension, F64 halves it
                    ArrayNode shape = (ArrayNode) entry.get("shape");
                    int last = shape.size() - 1;
                    long dim = shape.get(last).asLong();
                    if (d.equals("F16") || d.equals("BF16")) shape.set(last, nf.numberNode(dim * 2));
                    else if (d.equals("F64") && dim % 2 == 0) shape.set(last, nf.numberNode(dim / 2));
                    what += " with shape " + shape;
                }
            }
            case 3 -> {
                ArrayNode off = (ArrayNode) entry.get("data_offsets");
                long b = off.get(0).asLong(), e = off.get(1).asLong(), dataLen = st.data().length;
                ArrayNode o = nf.arrayNode();
                switch (rng.nextInt(10)) {
                    case 0 -> o.add(e).add(b);
                    case 1 -> o.add(Math.max(0, b - 4)).add(e - 4);
                    case 2 -> o.add(b + 4).add(e + 4);
                    case 3 -> o.add(b).add(dataLen + 4);
                    case 4 -> o.add(Long.MAX_VALUE - (e - b)).add(Long.MAX_VALUE);
                    case 5 -> o.add((1L << 63) - (1L << 33) + 1).add((1L << 63) - (1L << 33) + 1 + (e - b));
                    case 6 -> o.add(-4).add(e - b - 4);
                    case 7 -> {
                        ArrayNode other = (ArrayNode) header.get(pick(tensors, rng)).get("data_offsets");
                        o.addAll(other.deepCopy());
                    }
                    case 8 -> o.add(b);
                    default -> o.add(edit.raw(pick(new String[]{"\"0\"", "1.5", "null", "-0"}, rng))).add(e);
                }
                entry.set("data_offsets", o);
                what = "data_offsets of '" + t + "' [" + b + ", " + e + "] -> " + o;
            }
            case 4 -> {
                String field = pick(new String[]{"dtype", "shape", "data_offsets"}, rng);
                entry.remove(field);
                what = "removed " + field + " of '" + t + "'";
            }
            case 5 -> {
                if (rng.nextBoolean()) {
                    header.remove(t);
                    what = "removed tensor '" + t + "'";
                } else {
                    String renamed = t + (rng.nextBoolean() ? "_x" : ".weight");
                    header.set(renamed, header.remove(t));
                    what = "renamed tensor '" + t + "' to '" + renamed + "'";
                }
            }
            case 6 -> {
                ObjectNode extra = header.putObject("extra.tensor");
                extra.put("dtype", "F32");
                if (rng.nextBoolean()) {
                    extra.putArray("shape").add(0);
                    extra.putArray("data_offsets").add(st.data().length).add(st.data().length);
                    what = "added an empty tensor 'extra.tensor' at the end";
                } else {
                    extra.set("shape", entry.get("shape"));
                    extra.set("data_offsets", entry.get("data_offsets"));
                    what = "added 'extra.tensor' on the bytes of '" + t + "'";
                }
            }
            case 7 -> {
                JsonNode v = pick(new JsonNode[]{nf.arrayNode(), nf.textNode("x"), nf.numberNode(0), nf.nullNode()}, rng);
                if (rng.nextBoolean()) {
                    header.set(t, v);
                    what = "entry of '" + t + "' -> " + v;
                } else {
                    header.set("__metadata__", v);
                    what = "__metadata__ -> " + v;
                }
            }
            case 8 -> {
                byte[] json = PLAIN.writeValueAsBytes(header);
                String garbage = pick(new String[]{"xyz", "}", "{}", ",\"a\":1}", "\u0000\u0000x"}, rng);
                byte[] h = St.padded(concat(json, garbage.getBytes(StandardCharsets.UTF_8)));
                return new Mutation(St.write(h.length, h, st.data()), "header followed by " + TextNode.valueOf(garbage) + " before its padding", true);
            }
            case 9 -> {
                byte[] json = PLAIN.writeValueAsBytes(header);
                int kind = rng.nextInt(4);
                byte pad = new byte[]{0, '\t', '\n', (byte) 0xff}[kind];
                byte[] h = St.padded(json);
                if (rng.nextBoolean()) {
                    Arrays.fill(h, json.length, h.length, pad);
                    if (h.length == json.length) h = concat(h, new byte[]{pad, pad, pad, pad, pad, pad, pad, pad});
                    return new Mutation(St.write(h.length, h, st.data()), "header padded with 0x" + Integer.toHexString(pad & 0xff), false);
                }
                h = concat(" ".getBytes(StandardCharsets.UTF_8), json);
                return new Mutation(St.write(h.length, h, st.data()), "header with a space before '{'", false);
            }
            case 10 -> {
                int k = 1 + rng.nextInt(16);
                byte[] data = rng.nextBoolean() ? Arrays.copyOf(st.data(), Math.max(0, st.data().length - k)) : concat(st.data(), new byte[k]);
                return new Mutation(St.write(st.headerLen(), st.header(), data), "data section " + st.data().length + " -> " + data.length + " bytes", false);
            }
            default -> {
                Edit e = jsonEdit(header, rng);
                edit = e;
                what = "header JSON: " + e.description;
            }
        }
        byte[] h = St.padded(edit.write());
        return new Mutation(St.write(h.length, h, st.data()), what, false);
    }

    /**
     * Why {@code f} is not a valid safetensors file that peft4j reads, or null when it is: the header length fits,
     * the header is valid UTF-8, starts with '{' and is one JSON object followed by whitespace only (as the reference
     * implementation's serde_json reads it), every entry has a known dtype,
     * non-negative integer shape and offsets whose span fits the shape, and the tensors cover the data section
     * exactly, without holes or overlaps (the format's rule against polyglot files).
     */
    static String fault(byte[] f) {
        if (f.length < 8) return "shorter than 8 bytes";
        long len = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (len < 2 || len > f.length - 8 || len > 100L * 1024 * 1024) return "header length " + Long.toUnsignedString(len) + " outside the file";
        byte[] hb = Arrays.copyOfRange(f, 8, 8 + (int) len);
        String h;
        try {
            h = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(hb)).toString();
        } catch (CharacterCodingException e) {
            return "header is not UTF-8";
        }
        if (!h.startsWith("{")) return "header does not start with '{'";
        JsonNode header;
        try {
            header = STRICT.readTree(h);
        } catch (Exception e) {
            if (e.getMessage() != null && e.getMessage().contains("Duplicate field")) return null;   // not judged here
            return "header is not one JSON object followed by whitespace";
        }
        if (header == null || !header.isObject()) return "header is not an object";
        long dataLen = f.length - 8 - len;
        List<long[]> spans = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode v = e.getValue();
            if (e.getKey().equals("__metadata__")) {
                if (!v.isObject()) return "__metadata__ is not an object";
                continue;
            }
            String fault = entryFault(v, dataLen, spans);
            if (fault != null) return "'" + e.getKey() + "': " + fault;
        }
        spans.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        long at = 0;
        for (long[] s : spans) {
            if (s[0] != at) return s[0] < at ? "tensors overlap at byte " + s[0] : "bytes " + at + ".." + s[0] + " belong to no tensor";
            at = s[1];
        }
        if (at != dataLen) return "bytes " + at + ".." + dataLen + " belong to no tensor";
        return null;
    }

    private static String entryFault(JsonNode v, long dataLen, List<long[]> spans) {
        if (!v.isObject()) return "not an object";
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        int eb = dt == null || !dt.isTextual() ? -1 : switch (dt.asText()) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
        if (eb < 0) return "dtype " + dt;
        if (sh == null || !sh.isArray()) return "no shape";
        BigInteger count = BigInteger.ONE;
        for (JsonNode d : sh) {
            if (!d.isIntegralNumber() || d.bigIntegerValue().signum() < 0 || d.bigIntegerValue().bitLength() > 63) return "dimension " + d;
            count = count.multiply(d.bigIntegerValue());
        }
        if (off == null || !off.isArray() || off.size() != 2) return "data_offsets " + off;
        for (JsonNode o : off) if (!o.isIntegralNumber() || o.bigIntegerValue().signum() < 0 || o.bigIntegerValue().bitLength() > 63) return "offset " + o;
        long b = off.get(0).asLong(), e = off.get(1).asLong();
        if (e < b || e > dataLen) return "data_offsets [" + b + ", " + e + "] outside " + dataLen + " data bytes";
        if (!count.multiply(BigInteger.valueOf(eb)).equals(BigInteger.valueOf(e - b))) return "shape " + sh + " does not fill " + (e - b) + " bytes";
        spans.add(new long[]{b, e});
        return null;
    }
}
