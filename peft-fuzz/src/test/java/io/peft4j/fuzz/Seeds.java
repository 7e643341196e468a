package io.peft4j.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.core.Fixtures;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.prompt.ptuning.PTuningConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seed corpus: one valid file of every kind peft4j reads, written into a directory per {@link FileKind}
 * from the project's test fixtures and peft4j's own writers. Everything here is deterministic (fixed
 * initialisation seeds), so a case id names the same bytes on every run.
 */
final class Seeds {
    /** Bases the adapter and head kinds load their files onto (never mutated). */
    static final String BASE_GPT2 = "base-gpt2", BASE_BERT = "base-bert";
    /** Merges of GPT-2's real {@code merges.txt} in the small BPE seed. */
    static final int BPE_MERGES = 300;

    private Seeds() {
    }

    /** Writes every kind's seed directory, and the two bases, under {@code root}. */
    static void build(Path root) throws Exception {
        copy(Fixtures.dir("gpt2-tiny"), root.resolve(BASE_GPT2), "config.json", "model.safetensors");
        copy(Fixtures.dir("bert-tiny"), root.resolve(BASE_BERT), "config.json", "model.safetensors");
        for (FileKind k : FileKinds.ALL) {
            Path dir = Files.createDirectories(root.resolve(k.name()));
            k.seed().write(dir, root);
            for (String t : k.targets()) {
                if (!Files.isRegularFile(dir.resolve(t))) throw new IllegalStateException(k.name() + ": seed has no " + t);
            }
        }
    }

    static void copy(Path from, Path to, String... files) throws IOException {
        Files.createDirectories(to);
        for (String f : files) Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }

    // ------------------------------------------------------------------ checkpoints

    /** gpt2-tiny split over two safetensors shards and {@code model.safetensors.index.json}. */
    static void sharded(Path dir, Path root) throws IOException {
        Path base = root.resolve(BASE_GPT2);
        Files.copy(base.resolve("config.json"), dir.resolve("config.json"));
        Map<String, INDArray> s1 = new LinkedHashMap<>(), s2 = new LinkedHashMap<>();
        Map<String, String> weightMap = new LinkedHashMap<>();
        int i = 0;
        for (var e : SafeTensors.readAll(base.resolve("model.safetensors"), DataType.FLOAT).entrySet()) {
            String shard = i++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (shard.contains("00001-") ? s1 : s2).put(e.getKey(), e.getValue());
            weightMap.put(e.getKey(), shard);
        }
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), s1, Map.of("format", "pt"));
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), s2, Map.of("format", "pt"));
        Json.write(dir.resolve("model.safetensors.index.json"), Map.of("metadata", Map.of("total_size", 4 * i), "weight_map", weightMap));
    }

    /** bert-tiny as a TensorFlow bundle under TF-BERT's names ({@code bert/encoder/layer_0/.../kernel}, [in, out]). */
    static void tfBundle(Path dir, Path root) throws IOException {
        Path base = root.resolve(BASE_BERT);
        Files.copy(base.resolve("config.json"), dir.resolve("config.json"));
        Files.createDirectories(dir.resolve("variables"));
        List<TfWriter.Entry> entries = new ArrayList<>();
        ByteBuffer data = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (var e : SafeTensors.readAll(base.resolve("model.safetensors"), DataType.FLOAT).entrySet()) {
            String hf = e.getKey();
            INDArray v = e.getValue();
            String tf = hf.startsWith("bert.") ? "bert/" + hf.substring(5) : hf;
            tf = tf.replaceAll("layer\\.(\\d+)", "layer_$1");
            if (tf.contains("LayerNorm")) tf = tf.replaceAll("\\.weight$", ".gamma").replaceAll("\\.bias$", ".beta");
            else if (tf.contains("embeddings")) tf = tf.replaceAll("\\.weight$", "");
            else if (v.rank() == 2) {
                tf = tf.replaceAll("\\.weight$", ".kernel");
                v = v.transpose().dup('c');
            }
            if (tf.equals("cls.predictions.bias")) tf = "cls.predictions.output_bias";
            tf = tf.replace('.', '/');
            long offset = data.position();
            for (float f : v.dup('c').data().asFloat()) data.putFloat(f);
            entries.add(new TfWriter.Entry(tf, TfWriter.DT_FLOAT, v.shape(), 0, offset, data.position() - offset));
        }
        Files.write(dir.resolve("variables/variables.data-00000-of-00001"), java.util.Arrays.copyOf(data.array(), data.position()));
        Files.write(dir.resolve("variables/variables.index"), TfWriter.index(1, entries));
    }

    // ------------------------------------------------------------------ adapters and heads

    /** An adapter of {@code config} on the base {@code baseDir}, saved by {@link PeftModel#save} with non-trivial weights. */
    static void adapter(Path dir, Path baseDir, PeftConfig config) {
        PeftModel m = PeftModel.of(Models.load(baseDir, DataType.FLOAT), baseDir.getFileName().toString());
        var a = m.add("default", config, 11);
        int i = 0;
        for (Tensor t : a.parameters().values()) t.value().addi(io.peft4j.core.tensor.Init.normal(100 + i++, 0.05, DataType.FLOAT, t.shape()));
        m.save(dir);
    }

    static void ia3(Path dir, Path root) {
        adapter(dir, root.resolve(BASE_GPT2), Ia3Config.defaults());
    }

    static void pTuning(Path dir, Path root) {
        adapter(dir, root.resolve(BASE_GPT2), PTuningConfig.mlp(4, 16));
    }

    /** AdapterHub's Pfeiffer bottleneck adapter on bert-tiny ({@code pytorch_adapter.safetensors}). */
    static void bottleneck(Path dir, Path root) {
        adapter(dir, root.resolve(BASE_BERT), BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
    }

    /** A two-label classification head on bert-tiny ({@code head_config.json} + {@code head.safetensors}). */
    static void head(Path dir, Path root) {
        PeftModel m = PeftModel.of(Models.load(root.resolve(BASE_BERT), DataType.FLOAT));
        m.setHead(ClassificationHead.classification(Pooling.CLS, List.of("negative", "positive"), 32, DataType.FLOAT, 7));
        m.save(dir);
    }

    // ------------------------------------------------------------------ data files

    /** Labelled texts for the data kinds: quotes, commas, tabs' neighbours, accents, CJK, emoji, an empty label-free line. */
    static final List<String[]> RECORDS = List.of(new String[]{"free entry in a weekly draw, text WIN now", "spam"},
            new String[]{"are we still on for lunch?", "ham"}, new String[]{"Grüße aus Köln: \"bis bald\"", "ham"},
            new String[]{"你好，世界 🙂", "ham"}, new String[]{"URGENT! call 0800 123 456, claim your prize", "spam"},
            new String[]{"ok", "ham"});

    static void jsonLines(Path dir, Path root) throws IOException {
        StringBuilder s = new StringBuilder();
        for (String[] r : RECORDS) s.append(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(Map.of("text", r[0], "label", r[1]))).append('\n');
        Files.writeString(dir.resolve("train.jsonl"), s);
    }

    static void csv(Path dir, Path root) throws IOException {
        StringBuilder s = new StringBuilder("text,label\n");
        for (String[] r : RECORDS) s.append('"').append(r[0].replace("\"", "\"\"")).append("\",").append(r[1]).append('\n');
        s.append("\"a text over\ntwo lines\",ham\n");
        Files.writeString(dir.resolve("train.csv"), s);
    }

    static void tsv(Path dir, Path root) throws IOException {
        StringBuilder s = new StringBuilder("text\tlabel\n");
        for (String[] r : RECORDS) s.append(r[0]).append('\t').append(r[1]).append('\n');
        Files.writeString(dir.resolve("train.tsv"), s);
    }

    // ------------------------------------------------------------------ tokenizers

    /** A small WordPiece vocabulary: the specials, ASCII punctuation and digits, letters, a few words and pieces, CJK. */
    static List<String> wordPieceVocab() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (char c = '!'; c <= '~'; c++) if (!Character.isUpperCase(c)) v.add(String.valueOf(c));
        for (char c = 'a'; c <= 'z'; c++) v.add("##" + c);
        v.addAll(List.of("the", "of", "and", "to", "in", "is", "hello", "world", "un", "##able", "##ing", "##ed", "##er",
                "é", "ü", "ß", "你", "好", "世", "界", "привет"));
        return v;
    }

    static void vocabTxt(Path dir, Path root) throws IOException {
        Files.write(dir.resolve("vocab.txt"), wordPieceVocab(), StandardCharsets.UTF_8);
        Json.write(dir.resolve("tokenizer_config.json"), Map.of("do_lower_case", true, "model_max_length", 512, "tokenizer_class", "BertTokenizer"));
    }

    static void wordPieceTokenizerJson(Path dir, Path root) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        ArrayNode added = t.putArray("added_tokens");
        List<String> vocab = wordPieceVocab();
        for (int i = 0; i < 5; i++) added.addObject().put("id", i).put("content", vocab.get(i)).put("special", true);
        ObjectNode norm = t.putObject("normalizer");
        norm.put("type", "BertNormalizer").put("clean_text", true).put("handle_chinese_chars", true).putNull("strip_accents");
        norm.put("lowercase", true);
        t.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode model = t.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", "##").put("max_input_chars_per_word", 100);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) v.put(vocab.get(i), i);
        Json.write(dir.resolve("tokenizer.json"), t);
    }

    /**
     * A small GPT-2 BPE: the 256 byte symbols and the tokens of GPT-2's first {@value #BPE_MERGES} merges, under their
     * real ids (merge i makes token 256 + i), and {@code <|endoftext|>} after them.
     */
    static Map<String, Integer> bpeVocab() {
        Map<String, Integer> v = new LinkedHashMap<>();
        JsonNode full = Json.read(Fixtures.resource("tokenizers/gpt2/vocab.json"));
        full.fields().forEachRemaining(e -> {
            if (e.getValue().asInt() < 256 + BPE_MERGES) v.put(e.getKey(), e.getValue().asInt());
        });
        v.put("<|endoftext|>", 256 + BPE_MERGES);
        return v;
    }

    static List<String> bpeMerges() throws IOException {
        List<String> lines = Files.readAllLines(Fixtures.resource("tokenizers/gpt2/merges.txt"), StandardCharsets.UTF_8);
        return lines.subList(1, 1 + BPE_MERGES);
    }

    static void bpe(Path dir, Path root) throws IOException {
        Json.write(dir.resolve("vocab.json"), bpeVocab());
        List<String> merges = new ArrayList<>(List.of("#version: 0.2"));
        merges.addAll(bpeMerges());
        Files.write(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
    }

    static void bpeTokenizerJson(Path dir, Path root) throws IOException {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        t.putArray("added_tokens").addObject().put("id", 256 + BPE_MERGES).put("content", "<|endoftext|>").put("special", true);
        t.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true);
        t.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        ObjectNode v = model.putObject("vocab");
        bpeVocab().forEach(v::put);
        ArrayNode merges = model.putArray("merges");
        bpeMerges().forEach(merges::add);
        Json.write(dir.resolve("tokenizer.json"), t);
    }
}
