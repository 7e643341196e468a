package io.peft4j.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.peft4j.fuzz.Mutators.Mutation;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.peft4j.fuzz.Mutators.abbreviate;
import static io.peft4j.fuzz.Mutators.pick;

/**
 * Structure-aware edits of JSON documents (configs, vocabularies, tokenizer.json, shard indexes, one line of a
 * JSON-lines file, a safetensors header): numbers set to edge values, fields dropped, renamed, duplicated or
 * retyped, ids made equal, deep nesting, huge strings, other kinds' keywords, array edits, the whole document
 * replaced. Raw text a tree cannot hold (a number literal such as {@code 2e9}, a duplicate key) goes in through
 * placeholders ({@link Edit#raw}).
 */
final class JsonMutations {
    static final String[] NUMBERS = {"0", "-1", "1", "2", "3", "1.5", "0.5", "-0.5", "2147483647", "2147483648", "-2147483648",
            "4294967296", "2e9", "1e308", "-1e308", "1e400", "1e-320", "9223372036854775807", "9223372036854775808",
            "18446744073709551617", "67108863", "16777216", "4611686018427387905", "-0", "4.0", "1e2", "100000"};
    static final String[] STRINGS = {"", " ", "x", "relu", "gelu", "gelu_new", "silu", "tanh", "swish", "LORA", "IA3", "PROMPT_TUNING",
            "P_TUNING", "PREFIX_TUNING", "BOTTLENECK", "lora", "ADALORA", "bert", "gpt2", "t5", "WordPiece", "BPE", "Unigram",
            "classification", "regression", "token_classification", "cls", "mean", "last", "MLP", "LSTM", "TEXT", "RANDOM",
            "SAMPLE_VOCAB", "houlsby", "pfeiffer", "parallel", "seq_bn", "double_seq_bn", "par_bn", "all-linear", "c_attn", "c_proj",
            "query", "value", "F16", "BF16", "F64", "I64", "U8", "BOOL", "CAUSAL_LM", "SEQ_CLS", "TOKEN_CLS", "../escape", "/abs/path",
            "a\u0000b", "日本語", "\ud83d\ude42", "\ud800", "[UNK]", "[PAD]", "[CLS]", "<|endoftext|>", "Ġ", "##", "-1", "1e9", "true", "null"};

    /** A compact writer. */
    static final ObjectMapper PLAIN = new ObjectMapper();

    private JsonMutations() {
    }

    /** A JSON edit of {@code bytes} (which must parse), written back compactly. */
    static Mutation mutate(byte[] bytes, Random rng) throws Exception {
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
    static Mutation mutateLine(byte[] bytes, Random rng) throws Exception {
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
}
