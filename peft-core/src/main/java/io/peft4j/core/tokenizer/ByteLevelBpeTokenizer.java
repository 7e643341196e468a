package io.peft4j.core.tokenizer;

import io.peft4j.core.PeftException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level BPE: text is split by GPT-2's pre-tokenization pattern, each piece's UTF-8 bytes are
 * mapped to printable symbols, and merges are applied lowest rank first. Any Unicode text round-trips.
 * Added special tokens ({@code <|endoftext|>}) written in the text are kept whole.
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {
    /** GPT-2's pattern; {@code \s} and the classes are Unicode-aware, as in the Python {@code regex} module. */
    private static final Pattern PRETOKENIZE = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    private final Map<String, Integer> mergeRanks;
    private final List<String> specials;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final int endOfText;

    /**
     * Checks the files as Hugging Face's tokenizers library does when it loads them, so a tokenizer that
     * loads can encode every text: the vocabulary holds all 256 byte symbols, and each merge's two symbols
     * and their concatenation are in the vocabulary.
     *
     * @param vocab        token string to id, ids non-negative ({@code vocab.json})
     * @param merges       merge pairs in rank order, each "a b" ({@code merges.txt})
     * @param specials     added tokens kept whole when they appear in text (those in the vocabulary are used)
     * @param vocabSource  the vocabulary's file, named in errors
     * @param mergesSource the merges' file, named in errors
     */
    public ByteLevelBpeTokenizer(Map<String, Integer> vocab, List<String> merges, List<String> specials, Object vocabSource, Object mergesSource) {
        if (vocab.isEmpty()) throw PeftException.inFile(vocabSource, "empty vocabulary");
        if (vocab.values().stream().anyMatch(i -> i < 0)) throw PeftException.inFile(vocabSource, "negative token id in the vocabulary");
        for (int b = 0; b < 256; b++) {
            if (!vocab.containsKey(String.valueOf(BYTE_TO_CHAR[b]))) {
                throw PeftException.inFile(vocabSource, String.format("byte symbol '%s' (byte 0x%02x) is not in the vocabulary: "
                        + "byte-level BPE needs all 256 to encode any text", BYTE_TO_CHAR[b], b));
            }
        }
        this.encoder = new HashMap<>(vocab);
        int max = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.decoder = new String[max + 1];
        vocab.forEach((k, v) -> decoder[v] = k);
        this.mergeRanks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            String m = merges.get(i);
            String[] parts = m.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw PeftException.inFile(mergesSource, "merge " + (i + 1) + " is not two symbols separated by a space: '" + m + "'");
            }
            for (String t : new String[]{parts[0], parts[1], parts[0] + parts[1]}) {
                if (!vocab.containsKey(t)) {
                    throw PeftException.inFile(mergesSource, "merge " + (i + 1) + " ('" + m + "'): '" + t + "' is not in the vocabulary"
                            + (vocabSource.equals(mergesSource) ? "" : " of " + vocabSource));
                }
            }
            mergeRanks.putIfAbsent(m, i);
        }
        this.specials = new ArrayList<>();
        for (String s : specials) if (!s.isEmpty() && vocab.containsKey(s)) this.specials.add(s);
        this.endOfText = vocab.getOrDefault("<|endoftext|>", -1);
    }

    @Override
    public int[] encodeText(String text) {
        List<Integer> out = new ArrayList<>();
        int start = 0;
        while (start <= text.length()) {
            int next = -1;
            String special = null;
            for (String s : specials) {
                int at = text.indexOf(s, start);
                if (at >= 0 && (next < 0 || at < next)) {
                    next = at;
                    special = s;
                }
            }
            String chunk = next < 0 ? text.substring(start) : text.substring(start, next);
            Matcher m = PRETOKENIZE.matcher(chunk);
            while (m.find()) for (int id : bpe(m.group())) out.add(id);
            if (next < 0) break;
            out.add(encoder.get(special));
            start = next + special.length();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private int[] bpe(String piece) {
        return cache.computeIfAbsent(piece, p -> {
            byte[] bytes = p.getBytes(StandardCharsets.UTF_8);
            List<String> word = new ArrayList<>(bytes.length);
            for (byte b : bytes) word.add(String.valueOf(BYTE_TO_CHAR[b & 0xff]));
            while (word.size() > 1) {
                int best = Integer.MAX_VALUE, at = -1;
                for (int i = 0; i + 1 < word.size(); i++) {
                    Integer r = mergeRanks.get(word.get(i) + " " + word.get(i + 1));
                    if (r != null && r < best) {
                        best = r;
                        at = i;
                    }
                }
                if (at < 0) break;
                String a = word.get(at), b = word.get(at + 1);
                List<String> merged = new ArrayList<>(word.size());
                for (int i = 0; i < word.size(); i++) {
                    if (i + 1 < word.size() && word.get(i).equals(a) && word.get(i + 1).equals(b)) {
                        merged.add(a + b);
                        i++;
                    } else {
                        merged.add(word.get(i));
                    }
                }
                word = merged;
            }
            int[] ids = new int[word.size()];
            for (int i = 0; i < ids.length; i++) {
                Integer id = encoder.get(word.get(i));
                if (id == null) throw new IllegalStateException("BPE symbol '" + word.get(i) + "' is not in the vocabulary");   // the constructor rules it out
                ids[i] = id;
            }
            return ids;
        });
    }

    @Override
    public Encoding withSpecialTokens(int[] a, int[] b) {
        int[] ids = b == null ? a.clone() : concat(a, b);
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        return new Encoding(ids, Arrays.stream(ids).mapToObj(this::idToToken).toArray(String[]::new), new int[ids.length], mask);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public int specialTokenCount(boolean pair) {
        return 0;
    }

    @Override
    public String idToToken(int id) {
        if (id < 0 || id >= decoder.length || decoder[id] == null) throw new IllegalArgumentException("token id " + id + " outside the vocabulary");
        return decoder[id];
    }

    @Override
    public int tokenToId(String token) {
        return encoder.getOrDefault(token, -1);
    }

    @Override
    public int vocabSize() {
        return decoder.length;
    }

    /** GPT-2 has no padding token; batches pad with {@code <|endoftext|>} (masked out). */
    @Override
    public int padId() {
        return Math.max(endOfText, 0);
    }

    public int endOfTextId() {
        return endOfText;
    }

    /** {@code <|endoftext|>}, or -1 when the vocabulary lacks it. */
    @Override
    public int eosId() {
        return endOfText;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String t = idToToken(id);
            if (specials.contains(t)) {
                if (!skipSpecial) bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < t.length(); i++) {
                Integer b = CHAR_TO_BYTE.get(t.charAt(i));
                if (b != null) bytes.write(b);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
