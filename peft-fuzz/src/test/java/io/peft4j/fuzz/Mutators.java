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
import io.peft4j.core.io.TfBundle;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Seeded mutations of one file: generic byte-level ones for every file, and structure-aware ones for
 * safetensors, JSON, TensorFlow indexes and line-based text, which reach past the first parse where blind
 * flips rarely do. A {@link Mutation} describes exactly what it changed; where the result is certainly
 * invalid (a safetensors file that breaks the format's rules, a TF entry whose bytes cannot hold its shape),
 * it says so, and loading it successfully is a failure.
 */
final class Mutators {
    /** The mutated bytes, what was done, and whether the result is invalid for certain. */
    record Mutation(byte[] bytes, String description, boolean mustReject) {
    }

    static final String[] NUMBERS = {"0", "-1", "1", "2", "3", "1.5", "0.5", "-0.5", "2147483647", "2147483648", "-2147483648",
            "4294967296", "2e9", "1e308", "-1e308", "1e400", "1e-320", "9223372036854775807", "9223372036854775808",
            "18446744073709551617", "67108863", "16777216", "4611686018427387905", "-0", "4.0", "1e2", "100000"};
    static final String[] STRINGS = {"", " ", "x", "relu", "gelu", "gelu_new", "silu", "tanh", "swish", "LORA", "IA3", "PROMPT_TUNING",
            "P_TUNING", "PREFIX_TUNING", "BOTTLENECK", "lora", "ADALORA", "bert", "gpt2", "t5", "WordPiece", "BPE", "Unigram",
            "classification", "regression", "token_classification", "cls", "mean", "last", "MLP", "LSTM", "TEXT", "RANDOM",
            "SAMPLE_VOCAB", "houlsby", "pfeiffer", "parallel", "seq_bn", "double_seq_bn", "par_bn", "all-linear", "c_attn", "c_proj",
            "query", "value", "F16", "BF16", "F64", "I64", "U8", "BOOL", "CAUSAL_LM", "SEQ_CLS", "TOKEN_CLS", "../escape", "/abs/path",
            "a\u0000b", "日本語", "\ud83d\ude42", "\ud800", "[UNK]", "[PAD]", "[CLS]", "<|endoftext|>", "Ġ", "##", "-1", "1e9", "true", "null"};
    static final String[] SAFETENSORS_DTYPES = {"F16", "BF16", "F64", "F32", "I32", "I64", "U8", "I8", "BOOL", "U16", "U32", "U64",
            "F8_E4M3", "F8_E5M2", "f32", "", "F32 ", "float32"};
    static final long[] LONGS = {0, 1, -1, 2, 1L << 31, (1L << 31) - 1, 1L << 32, (1L << 62) + 1, Long.MAX_VALUE, Long.MIN_VALUE,
            (1L << 63) - (1L << 33) + 1, 1L << 33, 67_108_863, 16_777_216};
    static final byte[][] BAD_UTF8 = {{(byte) 0xff}, {(byte) 0xfe}, {(byte) 0xc3}, {(byte) 0x80}, {(byte) 0xc0, (byte) 0xaf},
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}};

    /** A compact writer and a strict reader (trailing tokens and duplicate keys are errors). */
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final ObjectMapper STRICT = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private Mutators() {
    }

    /**
     * Mutates {@code bytes}, the content of {@code target} (a path relative to the kind's directory); {@code seedFile} is the
     * unmutated file on disk. One structure-aware or generic mutation, sometimes followed by a generic one.
     */
    static Mutation mutate(String target, byte[] bytes, Path seedFile, Random rng) {
        String name = Path.of(target).getFileName().toString();
        Mutation m = null;
        boolean structured = rng.nextDouble() < 0.65;
        try {
            if (structured && name.endsWith(".safetensors")) m = safetensors(bytes, rng);
            else if (structured && name.endsWith(".json")) m = json(bytes, rng);
            else if (structured && name.endsWith(".index")) m = tfIndex(seedFile, rng);
            else if (structured && (name.endsWith(".txt") || name.endsWith(".csv") || name.endsWith(".tsv"))) m = text(bytes, rng);
            else if (structured && name.endsWith(".jsonl")) m = rng.nextBoolean() ? text(bytes, rng) : jsonLine(bytes, rng);
        } catch (Exception e) {
            m = null;       // not parseable as its structure: mutate the bytes instead
        }
        if (m == null) m = generic(bytes, rng);
        if (rng.nextDouble() < 0.1) {
            Mutation second = generic(m.bytes(), rng);
            m = new Mutation(second.bytes(), m.description() + ", then " + second.description(), false);
        }
        if (name.endsWith(".safetensors")) {
            String invalid = safetensorsFault(m.bytes());
            m = new Mutation(m.bytes(), m.description() + (invalid == null ? "" : " [invalid: " + invalid + "]"), invalid != null || m.mustReject());
        }
        return m;
    }

    // ------------------------------------------------------------------ generic

    static Mutation generic(byte[] b, Random rng) {
        int n = b.length;
        int op = n == 0 ? 4 : rng.nextInt(9);
        switch (op) {
            case 0 -> {
                byte[] out = b.clone();
                int k = 1 + rng.nextInt(8);
                List<String> at = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    int p = rng.nextInt(n), bit = rng.nextInt(8);
                    out[p] ^= (byte) (1 << bit);
                    at.add(p + "." + bit);
                }
                return new Mutation(out, "bit flips at byte.bit " + at, false);
            }
            case 1 -> {
                byte[] out = b.clone();
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(16));
                for (int i = 0; i < len; i++) out[p + i] = (byte) rng.nextInt(256);
                return new Mutation(out, len + " random bytes at " + p, false);
            }
            case 2 -> {
                byte[] out = b.clone();
                byte[] vals = {0, (byte) 0xff, 0x7f, (byte) 0x80, '"', '{', '}', '\n', ' ', '-', '9'};
                List<String> at = new ArrayList<>();
                for (int i = 0, k = 1 + rng.nextInt(4); i < k; i++) {
                    int p = rng.nextInt(n);
                    out[p] = vals[rng.nextInt(vals.length)];
                    at.add(p + "=0x" + Integer.toHexString(out[p] & 0xff));
                }
                return new Mutation(out, "bytes set " + at, false);
            }
            case 3 -> {
                int[] points = {0, 1, 7, 8, 9, n / 2, n - 1, Math.max(0, n - 4), rng.nextInt(n)};
                int p = Math.min(n, Math.max(0, points[rng.nextInt(points.length)]));
                return new Mutation(Arrays.copyOf(b, p), "truncated to " + p + " of " + n + " bytes", false);
            }
            case 4 -> {
                byte[] extra;
                String what;
                switch (rng.nextInt(3)) {
                    case 0 -> {
                        extra = new byte[1 + rng.nextInt(64)];
                        rng.nextBytes(extra);
                        what = extra.length + " random bytes";
                    }
                    case 1 -> {
                        extra = "\n}garbage{\"x\": 1}\n".getBytes(StandardCharsets.UTF_8);
                        what = "text garbage";
                    }
                    default -> {
                        extra = b.clone();
                        what = "a copy of the file";
                    }
                }
                return new Mutation(concat(b, extra), "appended " + what, false);
            }
            case 5 -> {
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(64));
                return new Mutation(concat(Arrays.copyOf(b, p), Arrays.copyOfRange(b, p + len, n)), "deleted bytes " + p + ".." + (p + len), false);
            }
            case 6 -> {
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(64));
                return new Mutation(concat(Arrays.copyOf(b, p + len), Arrays.copyOfRange(b, p, n)), "duplicated bytes " + p + ".." + (p + len), false);
            }
            case 7 -> {
                byte[] bad = BAD_UTF8[rng.nextInt(BAD_UTF8.length)];
                int p = rng.nextInt(n + 1);
                return new Mutation(concat(Arrays.copyOf(b, p), bad, Arrays.copyOfRange(b, p, n)), "invalid UTF-8 " + hex(bad) + " inserted at " + p, false);
            }
            default -> {
                byte[] out = b.clone();
                int from = rng.nextInt(n), to = rng.nextInt(n), len = Math.min(Math.min(n - from, n - to), 1 + rng.nextInt(32));
                System.arraycopy(b, from, out, to, len);
                return new Mutation(out, "copied bytes " + from + ".." + (from + len) + " over " + to, false);
            }
        }
    }

    // ------------------------------------------------------------------ JSON

    /** A JSON edit of {@code bytes} (which must parse), written back compactly. */
    static Mutation json(byte[] bytes, Random rng) throws Exception {
        JsonNode root = PLAIN.readTree(bytes);
        if (root == null) return null;
        Edit e = jsonEdit(root, rng);
        return new Mutation(e.write(), e.description, false);
    }

    /** A document being edited: the tree, raw text standing in for placeholders, and what was done. */
    static final class Edit {
        JsonNode root;
        final Map<String, String> rawText = new LinkedHashMap<>();
        String description;

        Edit(JsonNode root) {
            this.root = root;
        }

        /** A placeholder node that {@link #write} replaces by {@code text} verbatim. */
        TextNode raw(String text) {
            String key = "@@raw" + rawText.size() + "@@";
            rawText.put(key, text);
            return TextNode.valueOf(key);
        }

        byte[] write() throws Exception {
            String s = PLAIN.writeValueAsString(root);
            for (var r : rawText.entrySet()) s = s.replace("\"" + r.getKey() + "\"", r.getValue());
            return s.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** A JSON edit of one line of a JSON-lines file. */
    static Mutation jsonLine(byte[] bytes, Random rng) throws Exception {
        List<String> lines = new ArrayList<>(Arrays.asList(new String(bytes, StandardCharsets.UTF_8).split("\n", -1)));
        int i = rng.nextInt(lines.size());
        JsonNode root = PLAIN.readTree(lines.get(i));
        if (root == null) return null;
        Edit e = jsonEdit(root, rng);
        lines.set(i, new String(e.write(), StandardCharsets.UTF_8));
        return new Mutation(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), "line " + (i + 1) + ": " + e.description, false);
    }

    /** A place in a document: a container and a field name or index. */
    record Slot(JsonNode parent, String field, int index, String path) {
        JsonNode get() {
            return field != null ? parent.get(field) : parent.get(index);
        }

        void set(JsonNode v) {
            if (field != null) ((ObjectNode) parent).set(field, v);
            else ((ArrayNode) parent).set(index, v);
        }

        void remove() {
            if (field != null) ((ObjectNode) parent).remove(field);
            else ((ArrayNode) parent).remove(index);
        }
    }

    static List<Slot> slots(JsonNode root) {
        List<Slot> out = new ArrayList<>();
        collect(root, "", out);
        return out;
    }

    private static void collect(JsonNode n, String path, List<Slot> out) {
        if (n.isObject()) {
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                out.add(new Slot(n, f, -1, path + "/" + f));
                collect(n.get(f), path + "/" + f, out);
            }
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                out.add(new Slot(n, null, i, path + "/" + i));
                collect(n.get(i), path + "/" + i, out);
            }
        }
    }

    static <T> T pick(List<T> l, Random rng) {
        return l.get(rng.nextInt(l.size()));
    }

    static <T> T pick(T[] a, Random rng) {
        return a[rng.nextInt(a.length)];
    }

    /** One random edit of a parsed document: numbers, types, fields, ids, nesting, strings, keys, arrays, the root. */
    static Edit jsonEdit(JsonNode root, Random rng) {
        Edit e = new Edit(root);
        List<Slot> all = slots(root);
        int op = all.isEmpty() ? 9 : rng.nextInt(10);
        switch (op) {
            case 0 -> {
                List<Slot> nums = all.stream().filter(s -> s.get().isNumber()).toList();
                Slot s = !nums.isEmpty() && rng.nextDouble() < 0.8 ? pick(nums, rng) : pick(all, rng);
                String v;
                if (s.get().isNumber() && rng.nextBoolean()) {
                    BigInteger x = s.get().bigIntegerValue();
                    v = switch (rng.nextInt(6)) {
                        case 0 -> x.add(BigInteger.ONE).toString();
                        case 1 -> x.subtract(BigInteger.ONE).toString();
                        case 2 -> x.negate().toString();
                        case 3 -> x.multiply(BigInteger.valueOf(1000)).toString();
                        case 4 -> x + ".5";
                        default -> x.multiply(BigInteger.TWO).toString();
                    };
                } else {
                    v = pick(NUMBERS, rng);
                }
                s.set(e.raw(v));
                e.description = "set " + s.path() + " to " + v;
            }
            case 1 -> {
                Slot s = pick(all, rng);
                s.remove();
                e.description = "removed " + s.path();
            }
            case 2 -> {
                Slot s = pick(all, rng);
                JsonNode old = s.get();
                JsonNodeFactory f = JsonNodeFactory.instance;
                JsonNode[] choices = {f.textNode("x"), f.booleanNode(true), f.nullNode(), f.arrayNode(), f.objectNode(),
                        f.arrayNode().add(old), f.textNode(old.asText()), f.numberNode(0)};
                JsonNode v = pick(choices, rng);
                s.set(v);
                e.description = "set " + s.path() + " to " + abbreviate(v.toString());
            }
            case 3 -> {
                List<JsonNode> objs = new ArrayList<>();
                for (Slot s : all) if (s.get().isObject()) objs.add(s.get());
                if (root.isObject()) objs.add(root);
                List<JsonNode> withIds = objs.stream().filter(o -> countInts(o) >= 2).toList();
                if (withIds.isEmpty()) return jsonEdit(root, rng);
                ObjectNode o = (ObjectNode) pick(withIds, rng);
                List<String> ints = new ArrayList<>();
                o.fieldNames().forEachRemaining(f -> {
                    if (o.get(f).isIntegralNumber()) ints.add(f);
                });
                String a = pick(ints, rng), b = pick(ints, rng);
                o.set(a, o.get(b));
                e.description = "gave '" + a + "' the id of '" + b + "' (" + o.get(b) + ")";
            }
            case 4 -> {
                Slot s = pick(all, rng);
                int depth = pick(new Integer[]{500, 999, 1001, 5000, 100_000}, rng);
                s.set(e.raw("[".repeat(depth) + "]".repeat(depth)));
                e.description = "set " + s.path() + " to arrays nested " + depth + " deep";
            }
            case 5 -> {
                List<Slot> texts = all.stream().filter(s -> s.get().isTextual()).toList();
                Slot s = !texts.isEmpty() ? pick(texts, rng) : pick(all, rng);
                int len = pick(new Integer[]{1_000, 100_000, 2_000_000}, rng);
                String unit = pick(new String[]{"a", "Ġ", "é", "🙂", "a b", s.get().asText()}, rng);
                if (unit.isEmpty()) unit = "a";
                String v = unit.repeat(len / unit.length() + 1).substring(0, len);
                s.set(TextNode.valueOf(v));
                e.description = "set " + s.path() + " to a string of " + len + " chars of '" + unit + "'";
            }
            case 6 -> {
                List<Slot> texts = all.stream().filter(s -> s.get().isTextual()).toList();
                Slot s = !texts.isEmpty() ? pick(texts, rng) : pick(all, rng);
                String v = pick(STRINGS, rng);
                s.set(TextNode.valueOf(v));
                e.description = "set " + s.path() + " to " + TextNode.valueOf(v);
            }
            case 7 -> {
                List<Slot> objs = all.stream().filter(s -> s.get().isObject() && s.get().size() > 0).toList();
                ObjectNode o = root.isObject() && root.size() > 0 && (objs.isEmpty() || rng.nextBoolean()) ? (ObjectNode) root
                        : objs.isEmpty() ? null : (ObjectNode) pick(objs, rng).get();
                if (o == null) return jsonEdit(root, rng);
                List<String> names = new ArrayList<>();
                o.fieldNames().forEachRemaining(names::add);
                String k = pick(names, rng);
                switch (rng.nextInt(3)) {
                    case 0 -> {
                        String renamed = rng.nextBoolean() ? k.toUpperCase(java.util.Locale.ROOT) + "_" : k + "x";
                        JsonNode v = o.remove(k);
                        o.set(renamed, v);
                        e.description = "renamed field '" + k + "' to '" + renamed + "'";
                    }
                    case 1 -> {
                        JsonNode other = o.get(pick(names, rng));
                        o.set("@@dupkey@@", e.raw(other.toString()));
                        e.rawText.put("@@dupkey@@", TextNode.valueOf(k).toString());     // the key is replaced like a value
                        e.description = "added a second field '" + k + "' with value " + abbreviate(other.toString());
                    }
                    default -> {
                        o.put("unexpected_field", 1);
                        e.description = "added field 'unexpected_field'";
                    }
                }
            }
            case 8 -> {
                List<Slot> arrays = all.stream().filter(s -> s.get().isArray()).toList();
                if (arrays.isEmpty()) return jsonEdit(root, rng);
                Slot s = pick(arrays, rng);
                ArrayNode a = (ArrayNode) s.get();
                switch (a.isEmpty() ? 2 : rng.nextInt(5)) {
                    case 0 -> {
                        int i = rng.nextInt(a.size());
                        a.remove(i);
                        e.description = "removed element " + i + " of " + s.path();
                    }
                    case 1 -> {
                        int i = rng.nextInt(a.size());
                        a.insert(i, a.get(i).deepCopy());
                        e.description = "duplicated element " + i + " of " + s.path();
                    }
                    case 2 -> {
                        a.add(a.isEmpty() ? JsonNodeFactory.instance.numberNode(1) : a.get(rng.nextInt(a.size())).deepCopy());
                        e.description = "appended an element to " + s.path();
                    }
                    case 3 -> {
                        a.removeAll();
                        e.description = "emptied " + s.path();
                    }
                    default -> {
                        List<JsonNode> l = new ArrayList<>();
                        a.forEach(l::add);
                        java.util.Collections.reverse(l);
                        a.removeAll();
                        a.addAll(l);
                        e.description = "reversed " + s.path();
                    }
                }
            }
            default -> {
                String v = pick(new String[]{"[]", "{}", "null", "0", "\"x\"", "[{}]", "{\"a\":"}, rng);
                e.root = e.raw(v);
                e.description = "replaced the whole document with " + v;
            }
        }
        return e;
    }

    private static int countInts(JsonNode o) {
        int n = 0;
        for (JsonNode v : o) if (v.isIntegralNumber()) n++;
        return n;
    }

    // ------------------------------------------------------------------ safetensors

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

    static Mutation safetensors(byte[] f, Random rng) throws Exception {
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
                String d = pick(SAFETENSORS_DTYPES, rng);
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
    static String safetensorsFault(byte[] f) {
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

    // ------------------------------------------------------------------ TensorFlow index

    /** An edit of the seed bundle's entries, written back with {@link TfWriter}; certainly-invalid edits must be rejected. */
    static Mutation tfIndex(Path seedIndex, Random rng) throws Exception {
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
                        TfWriter.varint(x, anyLong.get());
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
        String fault = numShards != 1 ? "num_shards" : tfFault(m, dataLen);
        return new Mutation(TfWriter.index(numShards, entries), what + (fault == null ? "" : " [invalid: " + fault + "]"), fault != null);
    }

    private static String describe(TfWriter.Entry e) {
        return "{dtype " + e.dtype() + ", shape " + Arrays.toString(e.shape()) + ", shard " + e.shard() + ", offset " + e.offset() + ", size " + e.size() + "}";
    }

    /** Why an entry cannot be read from one data shard of {@code dataLen} bytes, or null. */
    static String tfFault(TfWriter.Entry e, long dataLen) {
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

    // ------------------------------------------------------------------ text lines

    static Mutation text(byte[] bytes, Random rng) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(Arrays.asList(s.split("\n", -1)));
        int n = lines.size();
        int i = rng.nextDouble() < 0.3 ? rng.nextInt(Math.min(n, 6)) : rng.nextInt(n);
        String what;
        switch (rng.nextInt(12)) {
            case 0 -> {
                lines.add(rng.nextInt(n + 1), lines.get(i));
                what = "duplicated line " + (i + 1);
            }
            case 1 -> {
                lines.remove(i);
                what = "deleted line " + (i + 1);
            }
            case 2 -> {
                String l = lines.get(i);
                String g = pick(new String[]{"a b c", "x", " " + l, l + " ", "", "   ", l.replace(' ', '\t'), "\u0000", l + " " + l, "ab",
                        "\"" + l, l + ",extra", l + "\textra", l.replace(",", ""), l.replace("\t", ""), l.replace("\"", "")}, rng);
                lines.set(i, g);
                what = "line " + (i + 1) + " -> " + TextNode.valueOf(g);
            }
            case 3 -> {
                int j = rng.nextInt(n);
                String t = lines.get(i);
                lines.set(i, lines.get(j));
                lines.set(j, t);
                what = "swapped lines " + (i + 1) + " and " + (j + 1);
            }
            case 4 -> {
                return new Mutation(new byte[0], "emptied the file", false);
            }
            case 5 -> {
                lines.add(i, "");
                lines.add(i, "");
                what = "inserted two blank lines at " + (i + 1);
            }
            case 6 -> {
                lines.set(i, "ab".repeat(50_000));
                what = "line " + (i + 1) + " -> 100,000 chars";
            }
            case 7 -> {
                return new Mutation(String.join("\r\n", lines).getBytes(StandardCharsets.UTF_8), "CRLF line ends", false);
            }
            case 8 -> {
                return new Mutation(concat(new byte[]{(byte) 0xef, (byte) 0xbb, (byte) 0xbf}, bytes), "UTF-8 byte-order mark added", false);
            }
            case 9 -> {
                String t = pick(new String[]{"[UNK]", "[PAD]", "<|endoftext|>", "#version: 0.2", "##", "Ġ Ġ", "Ġ"}, rng);
                lines.set(i, t);
                what = "line " + (i + 1) + " -> " + t;
            }
            case 10 -> {
                int k = rng.nextInt(n);
                lines = lines.subList(0, k);
                what = "kept the first " + k + " lines";
            }
            default -> {
                String l = lines.get(i);
                int p = l.isEmpty() ? 0 : rng.nextInt(l.length());
                String c = pick(new String[]{"\u0000", "\u0007", "\u200b", "\ufffd", "\u00ad"}, rng);
                lines.set(i, l.substring(0, p) + c + l.substring(p));
                what = "inserted U+" + String.format("%04X", (int) c.charAt(0)) + " into line " + (i + 1);
            }
        }
        return new Mutation(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), what, false);
    }

    // ------------------------------------------------------------------ helpers

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
