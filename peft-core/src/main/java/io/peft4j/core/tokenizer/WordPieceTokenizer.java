package io.peft4j.core.tokenizer;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.TextFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's tokenizer: basic tokenization (text cleaning, CJK splitting, optional lower-casing with accent
 * stripping, punctuation splitting) followed by greedy longest-match-first WordPiece with {@code ##}
 * continuations, as Hugging Face's {@code BertTokenizer}. Special tokens written in the text
 * ({@code [MASK]}, {@code [SEP]}, ...) are kept whole.
 */
public final class WordPieceTokenizer implements Tokenizer {
    private static final List<String> SPECIALS = List.of("[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]");

    private final String[] vocab;
    private final Map<String, Integer> ids;
    private final boolean lowerCase;
    private final boolean stripAccents;
    private final int maxCharsPerWord;
    private final String unk, prefix;
    private final int cls, sep, pad, mask, unkId;

    /**
     * @param vocab           tokens in id order
     * @param lowerCase       lower-case the input (uncased models)
     * @param stripAccents    strip accents (HF: defaults to {@code lowerCase})
     * @param maxCharsPerWord longer words become {@code [UNK]}
     */
    public WordPieceTokenizer(List<String> vocab, boolean lowerCase, boolean stripAccents, int maxCharsPerWord, String source) {
        this.vocab = vocab.toArray(new String[0]);
        this.ids = new HashMap<>(vocab.size() * 2);
        for (int i = 0; i < this.vocab.length; i++) ids.putIfAbsent(this.vocab[i], i);
        this.lowerCase = lowerCase;
        this.stripAccents = stripAccents;
        this.maxCharsPerWord = maxCharsPerWord;
        this.unk = "[UNK]";
        this.prefix = "##";
        for (String s : List.of("[CLS]", "[SEP]", "[UNK]", "[PAD]")) {
            if (!ids.containsKey(s)) throw PeftException.inFile(source, "vocabulary has no " + s + " token");
        }
        cls = ids.get("[CLS]");
        sep = ids.get("[SEP]");
        pad = ids.get("[PAD]");
        unkId = ids.get("[UNK]");
        mask = ids.getOrDefault("[MASK]", -1);
    }

    /** Reads a {@code vocab.txt} (one token per line, id = line number). */
    public static WordPieceTokenizer fromVocabFile(Path vocabTxt, boolean lowerCase) {
        List<String> lines = new ArrayList<>(TextFiles.lines(vocabTxt));
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) lines.remove(lines.size() - 1);
        if (lines.isEmpty()) throw PeftException.inFile(vocabTxt, "empty vocabulary");
        for (int i = 0; i < lines.size(); i++) {
            String t = lines.get(i).strip();
            if (t.isEmpty()) throw PeftException.inFile(vocabTxt, "line " + (i + 1) + ": empty token");
            lines.set(i, t);
        }
        return new WordPieceTokenizer(lines, lowerCase, lowerCase, 100, vocabTxt.toString());
    }

    @Override
    public int[] encodeText(String text) {
        List<Integer> out = new ArrayList<>();
        for (String word : basicTokens(text)) {
            if (SPECIALS.contains(word) && ids.containsKey(word)) {
                out.add(ids.get(word));
            } else {
                wordPiece(word, out);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Basic tokenization: the words and punctuation marks WordPiece then splits further. */
    List<String> basicTokens(String text) {
        List<String> words = new ArrayList<>();
        for (String part : splitOnSpecials(text)) {
            if (SPECIALS.contains(part)) {
                words.add(part);
                continue;
            }
            String cleaned = clean(part);
            for (String w : cleaned.trim().split(" +")) {
                if (w.isEmpty()) continue;
                if (lowerCase) w = w.toLowerCase(java.util.Locale.ROOT);
                if (stripAccents) w = stripAccents(w);
                splitPunctuation(w, words);
            }
        }
        return words;
    }

    private static List<String> splitOnSpecials(String text) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        outer:
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) != '[') continue;
            for (String s : SPECIALS) {
                if (text.startsWith(s, i)) {
                    parts.add(text.substring(start, i));
                    parts.add(s);
                    start = i + s.length();
                    i = start - 1;
                    continue outer;
                }
            }
        }
        parts.add(text.substring(start));
        return parts;
    }

    /** Removes control characters, maps whitespace to spaces and surrounds CJK ideographs with spaces. */
    private static String clean(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isWhitespace(cp)) sb.append(' ');
            else if (isCjk(cp)) sb.append(' ').appendCodePoint(cp).append(' ');
            else sb.appendCodePoint(cp);
        });
        return sb.toString();
    }

    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    private static String stripAccents(String w) {
        String nfd = Normalizer.normalize(w, Normalizer.Form.NFD);
        StringBuilder sb = new StringBuilder(nfd.length());
        nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(sb::appendCodePoint);
        return sb.toString();
    }

    private static void splitPunctuation(String w, List<String> out) {
        StringBuilder cur = new StringBuilder();
        w.codePoints().forEach(cp -> {
            if (isPunctuation(cp)) {
                if (cur.length() > 0) out.add(cur.toString());
                cur.setLength(0);
                out.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        });
        if (cur.length() > 0) out.add(cur.toString());
    }

    private void wordPiece(String word, List<Integer> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxCharsPerWord) {
            out.add(unkId);
            return;
        }
        List<Integer> pieces = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            Integer found = null;
            while (start < end) {
                String sub = new String(cps, start, end - start);
                if (start > 0) sub = prefix + sub;
                Integer id = ids.get(sub);
                if (id != null) {
                    found = id;
                    break;
                }
                end--;
            }
            if (found == null) {
                out.add(unkId);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    @Override
    public Encoding withSpecialTokens(int[] a, int[] b) {
        int n = a.length + 2 + (b == null ? 0 : b.length + 1);
        int[] idsOut = new int[n], types = new int[n], maskOut = new int[n];
        Arrays.fill(maskOut, 1);
        int i = 0;
        idsOut[i++] = cls;
        for (int x : a) idsOut[i++] = x;
        idsOut[i++] = sep;
        if (b != null) {
            for (int x : b) {
                types[i] = 1;
                idsOut[i++] = x;
            }
            types[i] = 1;
            idsOut[i++] = sep;
        }
        String[] toks = Arrays.stream(idsOut).mapToObj(this::idToToken).toArray(String[]::new);
        return new Encoding(idsOut, toks, types, maskOut);
    }

    @Override
    public int specialTokenCount(boolean pair) {
        return pair ? 3 : 2;
    }

    @Override
    public String idToToken(int id) {
        if (id < 0 || id >= vocab.length) throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + vocab.length);
        return vocab[id];
    }

    @Override
    public int tokenToId(String token) {
        return ids.getOrDefault(token, -1);
    }

    @Override
    public int vocabSize() {
        return vocab.length;
    }

    @Override
    public int padId() {
        return pad;
    }

    @Override
    public int maskId() {
        return mask;
    }

    @Override
    public String decode(int[] idsIn, boolean skipSpecial) {
        StringBuilder sb = new StringBuilder();
        for (int id : idsIn) {
            String t = idToToken(id);
            if (skipSpecial && SPECIALS.contains(t) && !t.equals(unk)) continue;
            if (t.startsWith(prefix)) sb.append(t, prefix.length(), t.length());
            else {
                if (sb.length() > 0) sb.append(' ');
                sb.append(t);
            }
        }
        return sb.toString().replace(" .", ".").replace(" ,", ",").replace(" ?", "?").replace(" !", "!")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 's", "'s");
    }
}
