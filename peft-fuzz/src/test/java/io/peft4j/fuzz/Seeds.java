package io.peft4j.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.probe.FeatureCache;
import io.peft4j.probe.FeatureExtractor;
import io.peft4j.probe.FeatureKey;
import io.peft4j.probe.Features;
import io.peft4j.probe.ProbeListener;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
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
    /**
     * The Llama-family bases: {@code llama3-rope-tiny} (grouped-query attention, llama3 {@code rope_scaling}, untied head)
     * and {@code qwen2-tiny} (q/k/v biases, tied head, sliding-window fields).
     */
    static final String BASE_LLAMA = "base-llama", BASE_QWEN2 = "base-qwen2";
    /**
     * bert-tiny with a WordPiece vocabulary of its 101 ids ({@link #tinyBertVocab()}): the base of the prompt,
     * classifier and feature-cache kinds (never mutated).
     */
    static final String BASE_BERT_WORDPIECE = "base-bert-wordpiece";
    /** Merges of GPT-2's real {@code merges.txt} in the small BPE seed. */
    static final int BPE_MERGES = 300;

    private Seeds() {
    }

    /** Writes every kind's seed directory, and the two bases, under {@code root}. */
    static void build(Path root) throws Exception {
        copy(Fixtures.dir("gpt2-tiny"), root.resolve(BASE_GPT2), "config.json", "model.safetensors");
        copy(Fixtures.dir("bert-tiny"), root.resolve(BASE_BERT), "config.json", "model.safetensors");
        copy(Fixtures.dir("llama3-rope-tiny"), root.resolve(BASE_LLAMA), "config.json", "model.safetensors");
        copy(Fixtures.dir("qwen2-tiny"), root.resolve(BASE_QWEN2), "config.json", "model.safetensors");
        copy(Fixtures.dir("bert-tiny"), root.resolve(BASE_BERT_WORDPIECE), "config.json", "model.safetensors");
        Files.write(root.resolve(BASE_BERT_WORDPIECE).resolve("vocab.txt"), tinyBertVocab(), StandardCharsets.UTF_8);
        Json.write(root.resolve(BASE_BERT_WORDPIECE).resolve("tokenizer_config.json"), Map.of("do_lower_case", true, "tokenizer_class", "BertTokenizer"));
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

    /** An instruction prefix (P 3, k 4) on bert-tiny. */
    static void instructionPrefix(Path dir, Path root) {
        adapter(dir, root.resolve(BASE_BERT), new io.peft4j.instruct.prefix.InstructionPrefixConfig(3, 4));
    }

    /** A LoRA hypernetwork (r 2, alpha 4, k 3, query and value) on bert-tiny. */
    static void hyperLora(Path dir, Path root) {
        adapter(dir, root.resolve(BASE_BERT), new io.peft4j.instruct.hyper.HyperLoraConfig(2, 4, null, 3));
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

    /**
     * A Llama-2-style SentencePiece BPE ({@code tokenizer.json} flavour of Mistral's): Prepend + Replace normalizer, no
     * pre-tokenizer, byte fallback over {@code <0x00>..<0xFF>}, a few hundred letter-pair merges, the BOS template and
     * the Replace / ByteFallback / Fuse / Strip decoder.
     */
    static void sentencePieceTokenizerJson(Path dir, Path root) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        ArrayNode added = t.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < 3; i++) added.addObject().put("id", i).put("content", specials[i]).put("special", true).put("normalized", false);
        ObjectNode norm = t.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", "\u2581");
        ns.addObject().put("type", "Replace").put("content", "\u2581").putObject("pattern").put("String", " ");
        t.putNull("pre_tokenizer");
        ObjectNode post = t.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        post.putObject("special_tokens").putObject("<s>").put("id", "<s>").putArray("ids").add(1);
        ((ObjectNode) post.get("special_tokens").get("<s>")).putArray("tokens").add("<s>");
        ObjectNode dec = t.putObject("decoder").put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ds.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("String", "\u2581");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<unk>").put("fuse_unk", true).put("byte_fallback", true);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < 3; i++) v.put(specials[i], i);
        for (int b = 0; b < 256; b++) v.put(String.format("<0x%02X>", b), 3 + b);
        int id = 259;
        List<String> singles = new ArrayList<>(List.of("\u2581"));
        for (char c = 'a'; c <= 'z'; c++) singles.add(String.valueOf(c));
        for (String s : singles) v.put(s, id++);
        ArrayNode merges = model.putArray("merges");
        for (String a : singles) {
            for (char c = 'a'; c <= 'm'; c++) {
                v.put(a + c, id++);
                merges.add(a + " " + c);
            }
        }
        Json.write(dir.resolve("tokenizer.json"), t);
    }

    /**
     * A byte-level BPE with a tiktoken-style Split regex, on the GPT-2 seed vocabulary: Llama 3's flavour
     * ({@code ignore_merges}, merges as strings, Llama 3's pattern) or Qwen's ({@code qwen}: NFC normalizer, merges
     * as pairs, Qwen's pattern, non-special added tokens), with a {@code tokenizer_config.json} holding a chat template.
     */
    static void byteLevelTokenizerJson(Path dir, boolean qwen) throws IOException {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("version", "1.0");
        Map<String, Integer> vocab = bpeVocab();
        int next = vocab.size();
        ArrayNode added = t.putArray("added_tokens");
        List<String> names = qwen ? List.of("<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>") : List.of("<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>");
        for (String n : names) added.addObject().put("id", next++).put("content", n).put("special", !n.startsWith("<t") && !n.startsWith("</t")).put("normalized", false);
        if (qwen) t.putObject("normalizer").put("type", "NFC");
        else t.putNull("normalizer");
        ObjectNode pre = t.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode ps = pre.putArray("pretokenizers");
        ps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false).putObject("pattern").put("Regex",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" + (qwen ? "" : "{1,3}") + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        ps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", !qwen).put("use_regex", false);
        t.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", !qwen).put("trim_offsets", false).put("use_regex", !qwen);
        t.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", !qwen).put("trim_offsets", !qwen).put("use_regex", !qwen);
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("byte_fallback", false).put("ignore_merges", !qwen);
        if (qwen) model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "");
        ObjectNode v = model.putObject("vocab");
        vocab.remove("<|endoftext|>");
        vocab.forEach(v::put);
        ArrayNode merges = model.putArray("merges");
        for (String m : bpeMerges()) {
            if (qwen) merges.addArray().add(m.split(" ")[0]).add(m.split(" ")[1]);
            else merges.add(m);
        }
        Json.write(dir.resolve("tokenizer.json"), t);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("bos_token", qwen ? null : "<|begin_of_text|>");
        config.put("eos_token", qwen ? "<|im_end|>" : "<|eot_id|>");
        config.put("chat_template", qwen
                ? "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}{{- '<|im_end|>\\n' }}{%- endif %}\n"
                  + "{%- set ns = namespace(last=messages|length - 1) %}{%- for message in messages[::-1] %}{%- if message.role == 'user' %}{%- set ns.last = loop.index0 %}{%- endif %}{%- endfor %}\n"
                  + "{%- for message in messages %}{%- set content = message.content %}{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}\n"
                  + "{{- '<|im_start|>' + message.role + '\\n' + content.strip() + '<|im_end|>\\n' }}{%- endfor %}\n"
                  + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
                : "{% for message in messages %}{% if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('bad role') }}{% endif %}"
                  + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' %}"
                  + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}");
        Json.write(dir.resolve("tokenizer_config.json"), config);
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

    // ------------------------------------------------------------------ prompts, classifiers, probe features

    /**
     * A WordPiece vocabulary of exactly bert-tiny's 101 ids: the specials (the ids BERT's tokenizer gives them), five
     * punctuation marks, the letters and their continuations, and the words of the prompt records, template and label
     * words. (The {@code vocab-txt} seed has 120 tokens: ids past 100 would index outside bert-tiny's embeddings.)
     */
    static List<String> tinyBertVocab() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", "'"));
        for (char c = 'a'; c <= 'z'; c++) v.add(String.valueOf(c));
        for (char c = 'a'; c <= 'z'; c++) v.add("##" + c);
        v.addAll(List.of("it", "was", "the", "this", "movie", "film", "plot", "good", "bad", "great", "terrible", "fine", "awful", "not",
                "and", "all", "in", "is", "of", "to", "very", "really", "boring", "fun", "loved", "hated", "acting", "story", "review",
                "title", "yes", "no", "positive", "negative", "spam", "ham", "free", "##s", "##ed"));
        if (v.size() != 101) throw new IllegalStateException("the tiny BERT vocabulary has " + v.size() + " tokens, not 101");
        return v;
    }

    /** The template the verbalizer and classifier kinds use (the template kind's own seed is {@link #template}). */
    static final String TEMPLATE = "{text} all in all, it was {mask}.";
    /** Label words; {@code goodness} is several tokens (good ##n ##e ##s ##s), scored by its first. */
    static final String VERBALIZER = "negative=bad,terrible,awful;positive=good,great,goodness";

    /** Unlabelled records the prompt kinds score: a title, a review, and the review again as {@code text}. */
    static final List<Map<String, String>> PROMPT_RECORDS = List.of(
            Map.of("title", "a film", "review", "the plot was boring and the acting was awful", "text", "the plot was boring and the acting was awful"),
            Map.of("title", "fun!", "review", "i loved this movie, really great story", "text", "i loved this movie, really great story"));

    /** Labelled texts the classifier seeds train on ({@code train}) and the head kind evaluates ({@code dev}). */
    static final List<String[]> TRAIN = List.of(new String[]{"the plot was boring and the acting was awful", "negative"},
            new String[]{"i hated this film", "negative"}, new String[]{"not good, very bad", "negative"},
            new String[]{"i loved this movie, really great story", "positive"}, new String[]{"a fun film, all good", "positive"},
            new String[]{"great acting and a fine plot", "positive"});
    static final List<String[]> DEV = List.of(new String[]{"a terrible story", "negative"}, new String[]{"really fun", "positive"});

    static List<TextRecord> records(List<String[]> texts, String source) {
        List<TextRecord> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) out.add(new TextRecord(Map.of("text", texts.get(i)[0]), texts.get(i)[1], source, i + 1));
        return out;
    }

    /** {@code template.json}: a {field:NAME} slot, {text} read from the field {@code review}, and the mask. */
    static void template(Path dir, Path root) {
        Template.parse("{field:title}: {text} all in all, it was {mask}.").withField("text", "review").write(dir.resolve(Template.FILE));
    }

    /** {@code templates.txt}: candidate templates as {@code peft mine --templates} reads them (a comment, a blank line, three templates). */
    static void templates(Path dir, Path root) throws IOException {
        java.nio.file.Files.writeString(dir.resolve("templates.txt"), "# single-text candidates\n{text} all in all, it was {mask}.\n\n{mask}: {text}\n"
                + "{field:title}. {text} it was {mask}!\n");
    }

    /** The instruction file of the instruction kind. */
    static final String INSTRUCTIONS = "review.json";

    /**
     * An instruction file ({@code peft instruct --instructions}) for a task "review" of {@link #TRAIN}'s labels: task-level
     * label words, two sentences (one with words of its own), a name and a paragraph.
     */
    static void instructions(Path dir, Path root) throws IOException {
        Files.writeString(dir.resolve(INSTRUCTIONS), """
                {"task": "review", "cluster": "reviews",
                 "label_words": {"negative": ["bad", "terrible"], "positive": "good"},
                 "instructions": [
                   {"form": "sentence", "template": "{text} all in all, it was {mask}."},
                   {"form": "sentence", "template": "was the film good? {text} {mask}!", "label_words": {"negative": "no", "positive": "yes"}},
                   {"form": "name", "template": "review: {text} {mask}"},
                   {"form": "paragraph", "template": "a review says if a film was good or bad. read it and say which. {text} it was {mask}."}]}
                """);
    }

    /** {@code verbalizer.json}: {@link #VERBALIZER} with the defaults written out (first token, vocabulary, prefix " "). */
    static void verbalizer(Path dir, Path root) {
        Verbalizer.parse(VERBALIZER).write(dir.resolve(Verbalizer.FILE));
    }

    /** What {@code peft train --output} writes for LoRA with a template and verbalizer: adapter, template, verbalizer, task, metrics. */
    static void promptClassifier(Path dir, Path root) {
        classifier(dir, root, Template.parse(TEMPLATE), Verbalizer.parse(VERBALIZER));
    }

    /** What {@code peft train --output} writes for LoRA with a classification head: adapter, head, task, metrics. */
    static void headClassifier(Path dir, Path root) {
        classifier(dir, root, null, null);
    }

    /** LoRA (r 4) on {@link #BASE_BERT_WORDPIECE} trained two epochs on {@link #TRAIN}, saved as a classifier directory. */
    private static void classifier(Path dir, Path root, Template template, Verbalizer verbalizer) {
        Path base = root.resolve(BASE_BERT_WORDPIECE);
        var setup = new ClassifierTraining.Setup(BASE_BERT_WORDPIECE, new ClassifierTraining.Method.Adapter("lora", LoraConfig.defaults().withR(4)),
                template, verbalizer, DataSpec.defaults(), 32, Truncation.END,
                TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(3, 1).withEpochs(2).withSeed(5));
        ClassifierTraining.train(Models.load(base, DataType.FLOAT), Tokenizers.load(base), setup, records(TRAIN, "train.jsonl"),
                records(DEV, "dev.jsonl")).save(dir, base);
    }

    /** The feature cache's file name in its seed directory. */
    static final String FEATURE_CACHE = "features.safetensors";
    /** Texts, layers, poolings and maximum length of the cached features. */
    static final List<String> FEATURE_TEXTS = List.of("the plot was boring", "i loved this movie, really great story", "not bad", "fun!");
    static final List<Integer> FEATURE_LAYERS = List.of(0, 1, 2);
    static final List<Pooling> FEATURE_POOLINGS = List.of(Pooling.CLS, Pooling.MEAN);
    static final int FEATURE_MAX_LENGTH = 16;

    /** The key of {@link #FEATURE_TEXTS} through {@link #BASE_BERT_WORDPIECE}, as {@code peft probe} computes it. */
    static FeatureKey featureKey(TransformerModel model, Tokenizer tokenizer) {
        return FeatureKey.of(model, featureInputs(tokenizer), FEATURE_MAX_LENGTH, FEATURE_LAYERS, FEATURE_POOLINGS);
    }

    static List<Encoding> featureInputs(Tokenizer tokenizer) {
        return FeatureExtractor.encode(tokenizer, FEATURE_TEXTS, null, FEATURE_MAX_LENGTH);
    }

    /** A probe feature cache: features of {@link #FEATURE_TEXTS} (3 layers x 2 poolings, [4, 32] each) and their key. */
    static void featureCache(Path dir, Path root) {
        Path base = root.resolve(BASE_BERT_WORDPIECE);
        TransformerModel m = Models.load(base, DataType.FLOAT);
        Tokenizer t = Tokenizers.load(base);
        Features f = new FeatureExtractor(m, FEATURE_LAYERS, FEATURE_POOLINGS, 2).extract(featureInputs(t), ProbeListener.NONE);
        new FeatureCache(dir.resolve(FEATURE_CACHE)).write(featureKey(m, t), f);
    }
}
