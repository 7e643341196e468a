package io.peft4j.core.tokenizer;

/**
 * One encoded sequence.
 *
 * @param ids           token ids
 * @param tokens        the tokens as strings (GPT-2: byte-level symbols)
 * @param typeIds       segment ids (BERT pairs: 0 for the first segment, 1 for the second)
 * @param attentionMask 1 for real tokens, 0 for padding
 */
public record Encoding(int[] ids, String[] tokens, int[] typeIds, int[] attentionMask) {
    public int length() {
        return ids.length;
    }
}
