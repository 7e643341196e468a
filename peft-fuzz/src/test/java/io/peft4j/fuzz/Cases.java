package io.peft4j.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.TfBundle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Case ids and what each case does and expects. A random case is {@code <kind>:<seed>:<n>}: its mutation is drawn
 * from a {@link Random} seeded by all three, so the id alone reproduces it. {@code seed:<kind>} loads a kind's seed
 * unchanged. A regression case is
 * {@code regression:<name>}: a fixed edit of one seed file for a defect found before (issues 14 and 15), with the message
 * fragments its error must contain.
 */
final class Cases {
    /**
     * What a case must end in: success or a {@code PeftException} naming {@code file}; with {@code mustReject}, only
     * the latter; with {@code atLoad}, raised while loading; its message matching every regex of {@code fragments}
     * and none of {@code forbidden}.
     */
    record Expect(String file, boolean mustReject, boolean atLoad, List<String> fragments, List<String> forbidden, boolean mustLoad) {
        Expect(String file, boolean mustReject, boolean atLoad, List<String> fragments, List<String> forbidden) {
            this(file, mustReject, atLoad, fragments, forbidden, false);
        }

        static Expect rejected(String file, String... fragments) {
            return new Expect(file, true, true, List.of(fragments), List.of());
        }

        /** A valid file that must load and run. */
        static Expect loads(String file) {
            return new Expect(file, false, false, List.of(), List.of(), true);
        }
    }

    /** A case written into its directory: the kind to run, what was changed, and the expectation. */
    record Prepared(String id, FileKind kind, String description, Expect expect) {
    }

    /** A regression case: the kind whose seed it starts from, the edit, and the expectation. */
    record Regression(String name, String kind, Edit edit, Expect expect) {
    }

    interface Edit {
        void apply(Path dir) throws Exception;
    }

    private static final String SHORT = "model.safetensors", TF_INDEX = "variables/variables.index";
    private static final String TASK = "task.json", TEMPLATE = "template.json", VERBALIZER = "verbalizer.json";
    private static final long TWO_31 = 1L << 31;

    /** The invalid byte's place in the edited config.json: byte 17 (0-based) or 18 (1-based), or line 2. */
    private static final String INVALID_UTF8_WHERE = "(byte|offset|position) 1[78]\\b|line 2\\b";

    static final List<Regression> REGRESSIONS = List.of(
            // (1) TF shapes whose element count times 4 wraps to the stored size
            new Regression("tf-shape-2^62+1-size-4", "tf-bundle",
                    d -> tfEntry(d, "bert/embeddings/LayerNorm/beta", e -> withShape(e, new long[]{(1L << 62) + 1}, 4)),
                    Expect.rejected("variables.index")),
            new Regression("tf-shape-2^31x2^31-size-0", "tf-bundle",
                    d -> tfEntry(d, "bert/embeddings/LayerNorm/beta", e -> withShape(e, new long[]{TWO_31, TWO_31}, 0)),
                    Expect.rejected("variables.index")),
            // (2) offset + size wraps past Long.MAX_VALUE
            new Regression("tf-offset-2^63-2^33+1", "tf-bundle",
                    d -> tfEntry(d, "bert/embeddings/LayerNorm/beta", e -> new TfWriter.Entry(e.name(), e.dtype(), new long[]{TWO_31}, 0,
                            (1L << 63) - (1L << 33) + 1, 1L << 33)),
                    Expect.rejected("variables.index")),
            // (3) BPE ids that overflow, exhaust the heap, or are fractions
            new Regression("vocab.json-id-2147483647", "bpe", d -> jsonNumber(d.resolve("vocab.json"), "Ġt", "2147483647"), Expect.rejected("vocab.json")),
            new Regression("vocab.json-id-2e9", "bpe", d -> jsonNumber(d.resolve("vocab.json"), "Ġt", "2e9"), Expect.rejected("vocab.json")),
            new Regression("vocab.json-id-1.5", "bpe", d -> jsonNumber(d.resolve("vocab.json"), "Ġt", "1.5"), Expect.rejected("vocab.json")),
            new Regression("tokenizer.json-bpe-id-2147483647", "tokenizer-json-bpe", d -> jsonNumber(d.resolve("tokenizer.json"), "Ġt", "2147483647"),
                    Expect.rejected("tokenizer.json")),
            new Regression("tokenizer.json-bpe-id-2e9", "tokenizer-json-bpe", d -> jsonNumber(d.resolve("tokenizer.json"), "Ġt", "2e9"),
                    Expect.rejected("tokenizer.json")),
            new Regression("tokenizer.json-bpe-id-1.5", "tokenizer-json-bpe", d -> jsonNumber(d.resolve("tokenizer.json"), "Ġt", "1.5"),
                    Expect.rejected("tokenizer.json")),
            // (4) WordPiece ids that leave a hole
            new Regression("tokenizer.json-wordpiece-repeated-id", "tokenizer-json-wordpiece",
                    d -> jsonNumber(d.resolve("tokenizer.json"), "hello", "6"), Expect.rejected("tokenizer.json")),
            new Regression("tokenizer.json-wordpiece-fractional-id", "tokenizer-json-wordpiece",
                    d -> jsonNumber(d.resolve("tokenizer.json"), "привет", "2.5"), Expect.rejected("tokenizer.json")),
            // (5) sizes in adapter configs that allocate before the weights are checked
            new Regression("prompt-tuning-num_virtual_tokens-67108863", "prompt-tuning",
                    d -> jsonField(d.resolve("adapter_config.json"), "num_virtual_tokens", 67_108_863), Expect.rejected("adapter_config.json")),
            new Regression("prefix-tuning-num_virtual_tokens-67108863", "prefix-tuning",
                    d -> jsonField(d.resolve("adapter_config.json"), "num_virtual_tokens", 67_108_863), Expect.rejected("adapter_config.json")),
            new Regression("lora-r-16777216", "lora", d -> jsonField(d.resolve("adapter_config.json"), "r", 16_777_216), Expect.rejected("adapter_config.json")),
            // (6) a safetensors header length one byte off (the header padded, so the short one still parses)
            new Regression("safetensors-header-length-one-short", "safetensors", d -> headerLength(d.resolve(SHORT), -1), Expect.rejected(SHORT)),
            new Regression("safetensors-header-length-one-long", "safetensors", d -> headerLength(d.resolve(SHORT), +1), Expect.rejected(SHORT)),
            // messages that must name the file at fault
            new Regression("vocab.json-empty", "bpe", d -> Files.writeString(d.resolve("vocab.json"), "{}"),
                    new Expect("vocab.json", true, true, List.of(), List.of("merges\\.txt"))),
            new Regression("vocab.json-negative-id", "bpe", d -> jsonNumber(d.resolve("vocab.json"), "Ġt", "-1"),
                    new Expect("vocab.json", true, true, List.of(), List.of("merges\\.txt"))),
            new Regression("config.json-hidden-33-heads-4", "config-bert", d -> jsonField(d.resolve("config.json"), "hidden_size", 33),
                    Expect.rejected("config.json", "hidden size 33 is not divisible by 4 heads")),
            new Regression("config.json-rope-type-yarn", "config-llama", d -> jsonSet(d.resolve("config.json"), "/rope_scaling/rope_type", "\"yarn\""),
                    Expect.rejected("config.json", "rope_scaling.rope_type", "yarn")),
            new Regression("config.json-kv-heads-3-of-4", "config-llama", d -> jsonField(d.resolve("config.json"), "num_key_value_heads", 3),
                    Expect.rejected("config.json", "num_key_value_heads", "3")),
            new Regression("config.json-qwen2-kv-heads-4-misfit-the-weights", "config-qwen2", d -> jsonField(d.resolve("config.json"), "num_key_value_heads", 4),
                    Expect.rejected("config.json", "k_proj")),
            new Regression("config.json-activation-relu", "config-bert", d -> jsonText(d.resolve("config.json"), "hidden_act", "relu"),
                    Expect.rejected("config.json", "relu")),
            new Regression("vocab.json-missing-byte-symbol", "bpe", d -> jsonRemove(d.resolve("vocab.json"), "!"),
                    Expect.rejected("vocab.json", "'!'")),
            new Regression("config.json-invalid-utf8", "config-gpt2", Cases::invalidUtf8InConfig,
                    Expect.rejected("config.json", "not valid UTF-8", INVALID_UTF8_WHERE)),
            new Regression("adapter_config.json-unknown-peft_type", "lora", d -> jsonText(d.resolve("adapter_config.json"), "peft_type", "NOT_A_METHOD"),
                    Expect.rejected("adapter_config.json", "NOT_A_METHOD")),
            new Regression("model.safetensors-missing-tensor", "safetensors", d -> Files.write(d.resolve(SHORT), emptySafetensors()),
                    Expect.rejected(SHORT, "missing tensor")),
            new Regression("sharded-missing-tensor", "sharded", d -> jsonRemove(d.resolve("model.safetensors.index.json"), "weight_map", "h.1.mlp.c_fc.weight"),
                    Expect.rejected("model.safetensors.index.json", "missing tensor")),
            // valid files
            new Regression("tf-header-with-explicit-little-endianness", "tf-bundle", Cases::tfExplicitEndianness, Expect.loads("variables.index")),
            // issue 15's files (found by their first fuzz runs)
            new Regression("task.json-training-not-an-object", "classifier-dir-head", d -> jsonSet(d.resolve(TASK), "/training", "\"lora\""),
                    Expect.rejected(TASK, "training")),
            new Regression("task.json-max_length-1", "classifier-dir-head", d -> jsonSet(d.resolve(TASK), "/max_length", "1"),
                    Expect.rejected(TASK, "max_length|max length")),
            // found by the first 30,000-case campaign
            new Regression("task.json-max_length-1-prompt", "classifier-dir-prompt", d -> jsonSet(d.resolve(TASK), "/max_length", "1"),
                    Expect.rejected(TASK, "max_length")),
            new Regression("head_config.json-token-classification-head", "classifier-dir-head",
                    d -> jsonSet(d.resolve("head_config.json"), "/head_type", "\"token_classification\""),
                    Expect.rejected("head_config.json", "not a classification head")),
            new Regression("task.json-three-text-fields", "classifier-dir-head", d -> jsonSet(d.resolve(TASK), "/text_fields", "[\"text\",\"title\",\"review\"]"),
                    Expect.rejected(TASK, "text_fields|text field")),
            new Regression("task.json-text-field-the-records-lack", "classifier-dir-head", d -> jsonSet(d.resolve(TASK), "/text_fields", "[\"body\"]"),
                    new Expect(TASK, true, false, List.of("body"), List.of())),
            new Regression("head_config.json-labels-differ-from-task.json", "classifier-dir-head",
                    d -> jsonSet(d.resolve("head_config.json"), "/id2label", "{\"0\":\"bad\",\"1\":\"good\"}"),
                    Expect.rejected("head_config.json", TASK)),
            new Regression("verbalizer.json-label-renamed-in-classifier-dir", "classifier-dir-prompt",
                    d -> jsonRename(d.resolve(VERBALIZER), "labels", "positive", "good"), Expect.rejected(VERBALIZER, TASK)),
            new Regression("verbalizer.json-word-not-in-vocabulary-in-classifier-dir", "classifier-dir-prompt",
                    d -> jsonSet(d.resolve(VERBALIZER), "/labels/positive/0", "\"日本語\""), Expect.rejected(VERBALIZER, "日本語")),
            new Regression("template.json-soft-tokens-without-adapter-in-classifier-dir", "classifier-dir-prompt",
                    d -> jsonSet(d.resolve(TEMPLATE), "/template", "\"{text} {soft} it was {mask}.\""), Expect.rejected(TEMPLATE, "soft")),
            new Regression("verbalizer.json-word-not-in-vocabulary", "verbalizer-json",
                    d -> jsonSet(d.resolve(VERBALIZER), "/labels/positive/0", "\"日本語\""), Expect.rejected(VERBALIZER, "日本語")),
            new Regression("verbalizer.json-same-word-for-two-labels", "verbalizer-json",
                    d -> jsonSet(d.resolve(VERBALIZER), "/labels/positive/0", "\"bad\""), Expect.rejected(VERBALIZER, "bad")),
            new Regression("verbalizer.json-multi-token-word-under-single", "verbalizer-json",
                    d -> jsonSet(d.resolve(VERBALIZER), "/multi_token", "\"single\""), Expect.rejected(VERBALIZER, "goodness")),
            new Regression("template.json-field-the-records-lack", "template-json", d -> jsonSet(d.resolve(TEMPLATE), "/fields/text", "\"body\""),
                    new Expect(TEMPLATE, true, false, List.of("body"), List.of())),
            new Regression("template.json-without-mask", "template-json", d -> jsonSet(d.resolve(TEMPLATE), "/template", "\"{field:title}: {text} good.\""),
                    Expect.rejected(TEMPLATE, "mask")),
            new Regression("feature-cache-metadata-without-model", "feature-cache",
                    d -> safetensorsMetadata(d.resolve(Seeds.FEATURE_CACHE), m -> m.remove("model")), Expect.rejected(Seeds.FEATURE_CACHE)),
            new Regression("feature-cache-metadata-data-x", "feature-cache",
                    d -> safetensorsMetadata(d.resolve(Seeds.FEATURE_CACHE), m -> m.put("data", "x")), Expect.rejected(Seeds.FEATURE_CACHE)));

    private Cases() {
    }

    /** One case per kind that loads its seed unchanged: the seeds must be valid, or every mutant of them is. */
    static List<String> seedIds() {
        return FileKinds.ALL.stream().map(k -> "seed:" + k.name()).toList();
    }

    static List<String> regressionIds() {
        return REGRESSIONS.stream().map(r -> "regression:" + r.name()).toList();
    }

    /** The random case ids of a campaign: {@code count} cases spread evenly over {@code kinds}. */
    static List<String> randomIds(List<FileKind> kinds, long seed, int count) {
        List<String> ids = new ArrayList<>(count);
        for (int i = 0; i < count; i++) ids.add(kinds.get(i % kinds.size()).name() + ":" + seed + ":" + i);
        return ids;
    }

    static String kindOf(String id) {
        if (id.startsWith("regression:")) return regression(id).kind();
        if (id.startsWith("selftest:")) return "selftest";
        if (id.startsWith("seed:")) return id.substring("seed:".length());
        return id.substring(0, id.indexOf(':'));
    }

    private static Regression regression(String id) {
        String name = id.substring("regression:".length());
        return REGRESSIONS.stream().filter(r -> r.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no regression case '" + name + "'"));
    }

    /** Copies the kind's seed into {@code dir} and applies the case's mutation there. */
    static Prepared prepare(String id, Path seeds, Path dir) throws Exception {
        if (id.startsWith("selftest:")) return selfTest(id, dir);
        FileKind kind = FileKinds.byName(kindOf(id));
        Path seedDir = seeds.resolve(kind.name());
        copyTree(seedDir, dir);
        if (id.startsWith("regression:")) {
            Regression r = regression(id);
            r.edit().apply(dir);
            return new Prepared(id, kind, "regression " + r.name(), r.expect());
        }
        if (id.startsWith("seed:")) return new Prepared(id, kind, "the seed, unchanged", Expect.loads(kind.targets().get(0)));
        String[] p = id.split(":");
        if (p.length != 3) throw new IllegalArgumentException("case id '" + id + "' is not kind:seed:n or regression:name");
        long seed = Long.parseLong(p[1]), n = Long.parseLong(p[2]);
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L ^ kind.name().hashCode() * 0xC2B2AE3D27D4EB4FL ^ n * 0x165667B19E3779F9L);
        String target = kind.targets().get(rng.nextInt(kind.targets().size()));
        Path file = dir.resolve(target);
        Mutators.Mutation m = Mutators.mutate(target, Files.readAllBytes(file), seedDir.resolve(target), rng);
        Files.write(file, m.bytes());
        String fileName = file.getFileName().toString();
        return new Prepared(id, kind, target + ": " + m.description(), new Expect(fileName, m.mustReject(), false, List.of(), List.of()));
    }

    /**
     * The harness's own test cases ({@code selftest:ok|peft|unnamed|npe|oom|hang|crash}): an action that loads
     * nothing and succeeds, throws a PeftException naming {@code file.txt}, one naming nothing, a
     * NullPointerException, runs out of heap, sleeps forever, or crashes the JVM.
     */
    private static Prepared selfTest(String id, Path dir) throws IOException {
        Files.createDirectories(dir);
        String what = id.substring("selftest:".length());
        FileKind.Action action = (d, env) -> {
            switch (what) {
                case "ok" -> { }
                case "peft" -> throw io.peft4j.core.PeftException.inFile(d.resolve("file.txt"), "bad");
                case "unnamed" -> throw new io.peft4j.core.PeftException("bad");
                case "npe" -> throw new NullPointerException("npe");
                case "oom" -> {
                    List<long[]> hog = new ArrayList<>();
                    while (true) hog.add(new long[1 << 20]);
                }
                case "hang" -> Thread.sleep(Long.MAX_VALUE);
                case "crash" -> {
                    var f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
                    f.setAccessible(true);
                    ((sun.misc.Unsafe) f.get(null)).getByte(0L);       // SIGSEGV
                }
                default -> throw new IllegalArgumentException("no self-test '" + what + "'");
            }
        };
        return new Prepared(id, new FileKind("selftest", (d, r) -> { }, List.of(), action), "self-test " + what,
                new Expect("file.txt", false, false, List.of(), List.of()));
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    // ------------------------------------------------------------------ edits used by regression cases

    private static TfWriter.Entry withShape(TfWriter.Entry e, long[] shape, long size) {
        return new TfWriter.Entry(e.name(), e.dtype(), shape, e.shard(), e.offset(), size);
    }

    /** Rewrites the bundle index in {@code dir} with one entry changed. */
    static void tfEntry(Path dir, String name, UnaryOperator<TfWriter.Entry> change) throws IOException {
        Path index = dir.resolve(TF_INDEX);
        List<TfWriter.Entry> entries = new ArrayList<>();
        try (TfBundle b = TfBundle.open(index)) {
            for (TfBundle.Entry e : b.entries().values()) {
                TfWriter.Entry w = new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), e.offset(), e.size());
                entries.add(e.name().equals(name) ? change.apply(w) : w);
            }
        }
        Files.write(index, TfWriter.index(1, entries));
    }

    /** Rewrites the bundle index with {@code endianness: LITTLE} written out in its header (proto2 writers do). */
    static void tfExplicitEndianness(Path dir) throws IOException {
        Path index = dir.resolve(TF_INDEX);
        List<TfWriter.Entry> entries = new ArrayList<>();
        try (TfBundle b = TfBundle.open(index)) {
            for (TfBundle.Entry e : b.entries().values()) entries.add(new TfWriter.Entry(e.name(), e.dtype(), e.shape(), e.shard(), e.offset(), e.size()));
        }
        Files.write(index, TfWriter.index(TfWriter.header(1, true), entries));
    }

    /** Sets the number under key {@code token} anywhere in a JSON file (a vocabulary's id) to the literal {@code number}. */
    static void jsonNumber(Path file, String token, String number) throws IOException {
        String s = Files.readString(file);
        String key = Json.MAPPER.writeValueAsString(token) + ":";
        String compact = Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(Json.MAPPER.readTree(s));
        int at = compact.indexOf(key);
        if (at < 0) throw new IllegalStateException(file + " has no key " + key);
        int from = at + key.length(), to = from;
        while (to < compact.length() && "-0123456789.eE+".indexOf(compact.charAt(to)) >= 0) to++;
        Files.writeString(file, compact.substring(0, from) + number + compact.substring(to));
    }

    static void jsonField(Path file, String field, long value) throws IOException {
        ObjectNode n = (ObjectNode) Json.read(file);
        n.put(field, value);
        Json.write(file, n);
    }

    static void jsonText(Path file, String field, String value) throws IOException {
        ObjectNode n = (ObjectNode) Json.read(file);
        n.put(field, value);
        Json.write(file, n);
    }

    /** Removes the field at {@code path} (object keys) from a JSON file. */
    static void jsonRemove(Path file, String... path) throws IOException {
        ObjectNode n = (ObjectNode) Json.read(file);
        ObjectNode parent = n;
        for (int i = 0; i < path.length - 1; i++) parent = (ObjectNode) parent.get(path[i]);
        if (parent.remove(path[path.length - 1]) == null) throw new IllegalStateException(file + " has no " + String.join("/", path));
        Json.write(file, n);
    }

    /** Sets the value at the JSON pointer {@code pointer} (an object member or an array element) to the JSON text {@code json}. */
    static void jsonSet(Path file, String pointer, String json) throws IOException {
        JsonNode root = Json.read(file);
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = root.at(pointer.substring(0, slash));
        String last = pointer.substring(slash + 1);
        JsonNode value = Json.MAPPER.readTree(json);
        if (parent instanceof ObjectNode o) o.set(last, value);
        else if (parent instanceof ArrayNode a) a.set(Integer.parseInt(last), value);
        else throw new IllegalStateException(file + " has no " + pointer);
        Json.write(file, root);
    }

    /** Renames the member {@code from} of the object at {@code object} to {@code to}, in place (its order kept). */
    static void jsonRename(Path file, String object, String from, String to) throws IOException {
        ObjectNode root = (ObjectNode) Json.read(file);
        ObjectNode o = (ObjectNode) root.get(object), renamed = Json.MAPPER.createObjectNode();
        if (!o.has(from)) throw new IllegalStateException(file + " has no " + object + "/" + from);
        o.fields().forEachRemaining(e -> renamed.set(e.getKey().equals(from) ? to : e.getKey(), e.getValue()));
        root.set(object, renamed);
        Json.write(file, root);
    }

    /** Rewrites a safetensors file with the same tensors and its {@code __metadata__} changed by {@code edit}. */
    static void safetensorsMetadata(Path file, java.util.function.Consumer<Map<String, String>> edit) {
        Map<String, String> metadata;
        try (SafeTensors st = SafeTensors.open(file)) {
            metadata = new LinkedHashMap<>(st.metadata());
        }
        Map<String, org.nd4j.linalg.api.ndarray.INDArray> tensors = SafeTensors.readAll(file, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        edit.accept(metadata);
        SafeTensors.write(file, tensors, metadata);
    }

    /** Rewrites model.safetensors with its header padded by spaces, and its length field off by {@code delta}. */
    static void headerLength(Path file, int delta) throws IOException {
        byte[] f = Files.readAllBytes(file);
        SafetensorsMutations.St st = SafetensorsMutations.St.parse(f);
        String json = new String(st.header(), StandardCharsets.UTF_8).strip() + "    ";
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        Files.write(file, SafetensorsMutations.St.write(h.length + delta, h, st.data()));
    }

    static byte[] emptySafetensors() {
        byte[] h = "{\"__metadata__\":{\"format\":\"pt\"}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    /** config.json of gpt2-tiny with byte 17 (0-based; line 2, the 'g' of "gpt2") replaced by 0xff. */
    static void invalidUtf8InConfig(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        Map<String, Object> cfg = new LinkedHashMap<>();
        Json.read(file).fields().forEachRemaining(e -> cfg.put(e.getKey(), e.getValue()));
        cfg.remove("model_type");
        String text = "{\n\"model_type\": \"gpt2\",\n" + Json.MAPPER.writeValueAsString(cfg).substring(1);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b[17] != 'g') throw new IllegalStateException("layout changed: " + text.substring(0, 20));
        b[17] = (byte) 0xff;
        Files.write(file, b);
    }
}
