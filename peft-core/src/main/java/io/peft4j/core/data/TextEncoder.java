package io.peft4j.core.data;

import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Example;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes records' text (a single text, or a pair: text_a from the first field, text_b from the second) with
 * a model's tokenizer and its special tokens, truncated to {@code maxLength} tokens. A pair loses tokens from
 * its longer segment first, the second segment on a tie ({@link Tokenizer#encode(String, String, int)}'s rule),
 * on the side {@code truncation} says; with {@link Truncation#END} the result is exactly
 * {@code tokenizer.encode(a, b, maxLength)}. (BERT: {@code [CLS] a [SEP] b [SEP]} with token types 0 and 1;
 * GPT-2 joins a pair's segments without a separator, as its Hugging Face tokenizer does.)
 *
 * <pre>{@code
 * TextEncoder enc = new TextEncoder(tokenizer, List.of("subject", "text"), 128, Truncation.END);
 * List<Example.Classification> train = enc.classification(records, Labels.of(records));
 * }</pre>
 *
 * @param tokenizer  the model's tokenizer
 * @param textFields one field or two (a pair)
 * @param maxLength  the most tokens an encoding has, special tokens included
 * @param truncation which tokens a long text keeps
 */
public record TextEncoder(Tokenizer tokenizer, List<String> textFields, int maxLength, Truncation truncation) {
    public TextEncoder {
        textFields = List.copyOf(textFields);
        if (textFields.isEmpty() || textFields.size() > 2) throw new IllegalArgumentException("one text field or two, not " + textFields);
        int room = maxLength - tokenizer.specialTokenCount(textFields.size() == 2);
        if (room <= 0) throw new IllegalArgumentException("max length " + maxLength + " leaves no room for text beside the special tokens");
    }

    /** Encodes one record's text field(s). */
    public Encoding encode(TextRecord r) {
        int[] a = tokenizer.encodeText(r.field(textFields.get(0)));
        int[] b = textFields.size() == 2 ? tokenizer.encodeText(r.field(textFields.get(1))) : null;
        int budget = maxLength - tokenizer.specialTokenCount(b != null);
        int la = a.length, lb = b == null ? 0 : b.length;
        while (la + lb > budget) {
            if (b == null || la > lb) la--;
            else lb--;
        }
        return tokenizer.withSpecialTokens(keep(a, la), b == null ? null : keep(b, lb));
    }

    /**
     * Classification examples: each record's encoding and the index of its label in {@code labels} (the head's
     * label order). A label not in {@code labels} is a {@link io.peft4j.core.PeftException} naming the file and line.
     */
    public List<Example.Classification> classification(List<TextRecord> records, List<String> labels) {
        List<Example.Classification> out = new ArrayList<>(records.size());
        for (TextRecord r : records) {
            int label = labels.indexOf(Labels.labelOf(r));
            if (label < 0) throw r.error("label '" + r.label() + "' is not one of the labels " + labels);
            Encoding e = encode(r);
            out.add(new Example.Classification(e.ids(), e.typeIds(), label));
        }
        return out;
    }

    private int[] keep(int[] ids, int n) {
        if (n == ids.length) return ids;
        return truncation == Truncation.END ? Arrays.copyOf(ids, n) : Arrays.copyOfRange(ids, ids.length - n, ids.length);
    }
}
