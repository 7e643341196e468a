package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model, run as Hugging Face's {@code tokenizers} library runs it:
 * added tokens are found first and never split; the text between them goes through the normalizer, the
 * pre-tokenizer and the BPE model; the post-processor adds the special tokens; the decoder turns ids back into text.
 * This covers SentencePiece-style BPE with byte fallback (Llama 2, Mistral: {@code Prepend}/{@code Replace}
 * normalizers or a {@code Metaspace} pre-tokenizer) and byte-level BPE with a split regex (GPT-2, Llama 3, Qwen).
 *
 * <pre>{@code
 * HfTokenizer tok = HfTokenizer.load(Path.of("llama3/tokenizer.json"));
 * int[] ids = tok.encodeText("Hello world");      // [9906, 1917]
 * String text = tok.decode(ids, false);            // "Hello world"
 * }</pre>
 *
 * <p>Supported components: normalizers {@value Normalizer#TYPES}; pre-tokenizers {@value PreTokenizer#TYPES};
 * post-processors {@value PostProcessor#TYPES}; decoders {@value Decoder#TYPES}. Any other type is a
 * {@link PeftException} naming the field and the value. {@code truncation} and {@code padding} are not applied
 * here: {@link Tokenizer#encode(String, String, int)} and {@link Tokenizer#encodeBatch} do that.
 */
public final class HfTokenizer implements Tokenizer {
    private static final List<String> MODELS = List.of("BPE", "WordPiece");

    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final BpeModel model;
    private final AddedVocabulary added;
    private final PostProcessor post;
    private final Decoder decoder;
    private final String[] idToToken;
    private final Map<String, Integer> addedIds;
    private final BitSet special;
    private final int pairSpecials, singleSpecials;
    private final int pad, eos, bos, mask;

    private HfTokenizer(Normalizer normalizer, PreTokenizer preTokenizer, BpeModel model, AddedVocabulary added, PostProcessor post, Decoder decoder,
                        String[] idToToken, Map<String, Integer> addedIds, BitSet special, int[] roles) {
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.added = added;
        this.post = post;
        this.decoder = decoder;
        this.idToToken = idToToken;
        this.addedIds = addedIds;
        this.special = special;
        this.singleSpecials = post.apply(new int[0], null).ids().length;
        int p;
        try {
            p = post.apply(new int[0], new int[0]).ids().length;
        } catch (PeftException e) {
            p = -1;
        }
        this.pairSpecials = p;
        this.pad = roles[0];
        this.eos = roles[1];
        this.bos = roles[2];
        this.mask = roles[3];
    }

    /**
     * Reads {@code tokenizerJson} and, when it exists beside it, {@code tokenizer_config.json} (for the names of the
     * padding, end, start and mask tokens).
     */
    public static HfTokenizer load(Path tokenizerJson) {
        Path config = tokenizerJson.resolveSibling("tokenizer_config.json");
        return fromJson(TokenizerJson.read(tokenizerJson), Files.isRegularFile(config) ? Json.read(config) : null);
    }

    /**
     * Builds the tokenizer from a parsed {@code tokenizer.json} ({@code root}) and an optional parsed
     * {@code tokenizer_config.json} ({@code config}, may be null); faults name {@code source} and the field.
     */
    public static HfTokenizer fromJson(Object source, JsonNode root, JsonNode config) {
        return fromJson(TokenizerJson.of(source, root), config);
    }

    /** Builds the tokenizer from a read {@code tokenizer.json} and an optional parsed {@code tokenizer_config.json} (may be null). */
    public static HfTokenizer fromJson(TokenizerJson tj, JsonNode config) {
        JsonNode root = tj.root();
        Where w = Where.root(tj.source());
        JsonNode m = root.get("model");
        Where mw = w.at("model");
        mw.object(m);
        String type = mw.text(m, "type", "BPE");
        if (!type.equals("BPE")) {
            throw type.equals("WordPiece") ? mw.at("type").fail("WordPiece is read by Tokenizers.fromTokenizerJson") : mw.at("type").unsupported(type, MODELS);
        }
        Normalizer normalizer = root.hasNonNull("normalizer") ? Normalizer.parse(w.at("normalizer"), root.get("normalizer")) : null;
        PreTokenizer pre = root.hasNonNull("pre_tokenizer") ? PreTokenizer.parse(w.at("pre_tokenizer"), root.get("pre_tokenizer")) : null;
        BpeModel model = BpeModel.parse(mw, m, tj);
        if (usesByteLevel(root.get("pre_tokenizer"))) {
            for (int b = 0; b < 256; b++) {
                String sym = String.valueOf(ByteLevel.BYTE_TO_CHAR[b]);
                if (!model.vocab.containsKey(sym)) {
                    throw mw.at("vocab").fail(String.format("byte symbol '%s' (byte 0x%02x) is not in the vocabulary: byte-level BPE needs all 256 to encode any text", sym, b));
                }
            }
        }
        // added tokens: ids checked against the model's vocabulary
        String[] byId = tj.byId();
        List<AddedVocabulary.AddedToken> addedTokens = new ArrayList<>();
        Map<String, Integer> addedIds = new HashMap<>();
        JsonNode at = root.get("added_tokens");
        if (at != null && !at.isNull()) {
            Where aw = w.at("added_tokens");
            if (!at.isArray()) throw aw.fail("must be an array, not " + Where.kind(at));
            for (int i = 0; i < at.size(); i++) {
                Where iw = aw.at(i);
                JsonNode t = iw.object(at.get(i));
                int id = iw.integer(t, "id", -1, 0, Tokenizers.MAX_TOKEN_ID);
                if (id < 0) throw iw.at("id").fail("missing");
                String content = iw.text(t, "content", null);
                if (content.isEmpty()) throw iw.at("content").fail("empty token");
                if (id >= byId.length) byId = Arrays.copyOf(byId, Math.max(id + 1, byId.length + at.size()));
                String other = byId[id];
                if (other != null && !other.equals(content)) throw iw.at("id").fail("tokens '" + other + "' and '" + content + "' both have id " + id);
                Integer vocabId = model.vocab.get(content);
                if (vocabId != null && vocabId != id) throw iw.fail("'" + content + "' has id " + id + " but model.vocab gives it " + vocabId);
                Integer earlier = addedIds.get(content);
                if (earlier != null && earlier != id) throw iw.fail("'" + content + "' is added twice, with ids " + earlier + " and " + id);
                byId[id] = content;
                addedIds.put(content, id);
                boolean isSpecial = iw.bool(t, "special", false);
                addedTokens.add(new AddedVocabulary.AddedToken(id, content, isSpecial, iw.bool(t, "single_word", false), iw.bool(t, "lstrip", false),
                        iw.bool(t, "rstrip", false), iw.bool(t, "normalized", !isSpecial)));
            }
        }
        int last = byId.length - 1;
        while (last >= 0 && byId[last] == null) last--;
        String[] idToToken = Arrays.copyOf(byId, last + 1);
        int size = idToToken.length;
        BitSet special = new BitSet(size);
        for (var t : addedTokens) if (t.special()) special.set(t.id());
        PostProcessor post = root.hasNonNull("post_processor")
                ? PostProcessor.parse(w.at("post_processor"), root.get("post_processor"), id -> id >= 0 && id < size && idToToken[id] != null) : PostProcessor.NONE;
        Decoder decoder = root.hasNonNull("decoder") ? Decoder.parse(w.at("decoder"), root.get("decoder")) : null;
        int[] roles = roles(root, config, name -> {
            Integer id = addedIds.get(name);
            return id != null ? id : model.vocab.getOrDefault(name, -1);
        });
        if (roles[0] >= size || roles[0] >= 0 && idToToken[roles[0]] == null) roles[0] = -1;   // padding.pad_id of no token
        return new HfTokenizer(normalizer, pre, model, new AddedVocabulary(addedTokens, normalizer), post, decoder, idToToken, addedIds, special, roles);
    }

    private static boolean usesByteLevel(JsonNode pre) {
        if (pre == null || pre.isNull()) return false;
        if ("ByteLevel".equals(pre.path("type").asText())) return true;
        for (JsonNode p : pre.path("pretokenizers")) if (usesByteLevel(p)) return true;
        return false;
    }

    /** Padding, end, start and mask ids: {@code tokenizer_config.json}'s token names, else {@code padding.pad_id}; -1 when unknown. */
    private static int[] roles(JsonNode root, JsonNode config, java.util.function.ToIntFunction<String> ids) {
        int eos = configToken(config, "eos_token", ids), bos = configToken(config, "bos_token", ids), mask = configToken(config, "mask_token", ids);
        int pad = configToken(config, "pad_token", ids);
        if (pad < 0 && root.path("padding").path("pad_id").canConvertToInt() && root.path("padding").path("pad_id").isIntegralNumber()) {
            int p = root.path("padding").path("pad_id").asInt();
            if (p >= 0) pad = p;
        }
        return new int[]{pad, eos, bos, mask};
    }

    /** A special token named in {@code tokenizer_config.json}, as a string or an object with {@code content}; -1 if absent or unknown. */
    static int configToken(JsonNode config, String key, java.util.function.ToIntFunction<String> ids) {
        if (config == null) return -1;
        JsonNode n = config.get(key);
        String name = n == null ? null : n.isTextual() ? n.asText() : n.path("content").isTextual() ? n.path("content").asText() : null;
        return name == null ? -1 : ids.applyAsInt(name);
    }

    @Override
    public int[] encodeText(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        List<AddedVocabulary.Segment> raw = new ArrayList<>(4), norm = new ArrayList<>(4);
        List<PreTokenizer.Piece> pieces = new ArrayList<>();
        added.splitRaw(text, true, raw);
        for (var s : raw) {
            if (s.id() >= 0) {
                out.add(s.id());
                continue;
            }
            norm.clear();
            added.splitNormalized(normalizer == null ? s.text() : normalizer.normalize(s.text()), s.atStart(), norm);
            for (var t : norm) {
                if (t.id() >= 0) {
                    out.add(t.id());
                } else if (preTokenizer == null) {
                    out.addAll(model.tokenize(t.text()));
                } else {
                    pieces.clear();
                    preTokenizer.split(new PreTokenizer.Piece(t.text(), t.atStart()), pieces);
                    for (var p : pieces) out.addAll(model.tokenize(p.text()));
                }
            }
        }
        return out.toArray();
    }

    /** The token strings of {@code text}'s ids, without special tokens (byte-level tokens as their symbols). */
    public List<String> tokenize(String text) {
        return Arrays.stream(encodeText(text)).mapToObj(this::idToToken).toList();
    }

    @Override
    public Encoding withSpecialTokens(int[] a, int[] b) {
        PostProcessor.Ids r = post.apply(a, b);
        int[] maskOut = new int[r.ids().length];
        Arrays.fill(maskOut, 1);
        return new Encoding(r.ids(), Arrays.stream(r.ids()).mapToObj(this::idToToken).toArray(String[]::new), r.typeIds(), maskOut);
    }

    @Override
    public int specialTokenCount(boolean pair) {
        if (pair && pairSpecials < 0) throw new PeftException("tokenizer.json: post_processor has no pair template");
        return pair ? pairSpecials : singleSpecials;
    }

    @Override
    public String idToToken(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) throw new IllegalArgumentException("token id " + id + " outside the vocabulary");
        return idToToken[id];
    }

    @Override
    public int tokenToId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) id = model.vocab.get(token);
        return id == null ? -1 : id;
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    /** {@code tokenizer_config.json}'s {@code pad_token}, else {@code padding.pad_id}, else the end token, else 0. */
    @Override
    public int padId() {
        return pad >= 0 ? pad : eos >= 0 ? eos : 0;
    }

    @Override
    public int maskId() {
        return mask;
    }

    /** {@code tokenizer_config.json}'s {@code eos_token}, or -1. */
    @Override
    public int eosId() {
        return eos;
    }

    /** {@code tokenizer_config.json}'s {@code bos_token}, or -1. */
    public int bosId() {
        return bos;
    }

    /** Whether {@code id} is an added token marked {@code special} (dropped by {@code decode(ids, true)}). */
    public boolean isSpecial(int id) {
        return special.get(id);
    }

    /** As Hugging Face's {@code decode}: the ids' tokens (special ones dropped when {@code skipSpecial}) through the decoder. */
    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = idToToken(id);
            if (!(skipSpecial && special.get(id))) tokens.add(t);
        }
        return decoder == null ? String.join(" ", tokens) : String.join("", decoder.decode(tokens));
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
