package io.peft4j.core.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Text to token ids and back. Implementations provide the model-specific pieces (splitting text into
 * vocabulary ids, adding special tokens); truncation, padding and batching are shared here.
 */
public interface Tokenizer {
    /** Token ids of {@code text} without special tokens. */
    int[] encodeText(String text);

    /** Adds the model's special tokens around one or two segments (BERT: [CLS] a [SEP] b [SEP]). */
    Encoding withSpecialTokens(int[] a, int[] b);

    /** How many special tokens {@link #withSpecialTokens} adds for one segment or a pair. */
    int specialTokenCount(boolean pair);

    String idToToken(int id);

    /** The id of a token string, or -1. */
    int tokenToId(String token);

    int vocabSize();

    /** The padding id used by {@link #encodeBatch}. */
    int padId();

    /** The mask token's id, or -1 if the model has none. */
    default int maskId() {
        return -1;
    }

    /** The end-of-text (end-of-sequence) token's id, or -1 if the tokenizer does not know one. */
    default int eosId() {
        return -1;
    }

    /** Turns ids back into text; special tokens are dropped when {@code skipSpecial}. */
    String decode(int[] ids, boolean skipSpecial);

    /** Encodes one text with special tokens. */
    default Encoding encode(String text) {
        return encode(text, null, Integer.MAX_VALUE);
    }

    /**
     * Encodes a text or a pair with special tokens, truncating the longer segment first until the result
     * fits {@code maxLength} (Hugging Face's {@code longest_first}).
     */
    default Encoding encode(String a, String b, int maxLength) {
        int[] x = encodeText(a);
        int[] y = b == null ? null : encodeText(b);
        int budget = maxLength - specialTokenCount(y != null);
        if (budget < 0) throw new IllegalArgumentException("max length " + maxLength + " leaves no room for the special tokens");
        while (x.length + (y == null ? 0 : y.length) > budget) {
            if (y == null || x.length > y.length) x = Arrays.copyOf(x, x.length - 1);
            else y = Arrays.copyOf(y, y.length - 1);
        }
        return withSpecialTokens(x, y);
    }

    /** Encodes texts, truncated to {@code maxLength} and right-padded to the longest with {@link #padId()}. */
    default List<Encoding> encodeBatch(List<String> texts, int maxLength) {
        List<Encoding> enc = new ArrayList<>(texts.size());
        int longest = 0;
        for (String t : texts) {
            Encoding e = encode(t, null, maxLength);
            enc.add(e);
            longest = Math.max(longest, e.length());
        }
        List<Encoding> out = new ArrayList<>(enc.size());
        for (Encoding e : enc) {
            int n = e.length();
            int[] ids = Arrays.copyOf(e.ids(), longest), types = Arrays.copyOf(e.typeIds(), longest), mask = Arrays.copyOf(e.attentionMask(), longest);
            String[] toks = Arrays.copyOf(e.tokens(), longest);
            for (int i = n; i < longest; i++) {
                ids[i] = padId();
                toks[i] = idToToken(padId());
            }
            out.add(new Encoding(ids, toks, types, mask));
        }
        return out;
    }
}
