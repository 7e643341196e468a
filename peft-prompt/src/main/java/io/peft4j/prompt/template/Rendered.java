package io.peft4j.prompt.template;

/**
 * A record rendered through a template: the model's input and where to read the answer.
 *
 * @param ids             token ids with the tokenizer's special tokens ({@code [CLS] ... [SEP]} for BERT)
 * @param tokenTypes      token type ids (all 0: a template renders one segment)
 * @param answerPosition  the position whose output is the answer: the {@code [MASK]} token (masked LM) or the
 *                        prompt's last token (decoder: its next-token prediction); -1 for {@link AnswerMode#NONE}
 * @param softPositions   the positions of the template's soft tokens, in template order
 * @param softIndices     which soft token (0-based, in template order) sits at each of {@code softPositions}
 * @param truncatedTokens how many tokens the input fields lost to fit the model
 */
public record Rendered(int[] ids, int[] tokenTypes, int answerPosition, int[] softPositions, int[] softIndices, int truncatedTokens) {
    /** The number of tokens. */
    public int length() {
        return ids.length;
    }
}
