package io.peft4j.instruct.encoding;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An instruction as the frozen base model reads it: the final hidden states of its tokens and their mean. Constants:
 * computed once per instruction, with no adapter applied ({@link InstructionEncoder}).
 *
 * @param text   the instruction's text
 * @param tokens the final hidden states {@code [m, d]} of its m tokens (special tokens included)
 * @param mean   their mean {@code [d]}: the instruction's embedding
 */
public record InstructionEncoding(String text, INDArray tokens, INDArray mean) {
    public InstructionEncoding {
        if (tokens.rank() != 2 || mean.rank() != 1 || mean.length() != tokens.size(1)) {
            throw new IllegalArgumentException("tokens [m, d] and mean [d], not " + java.util.Arrays.toString(tokens.shape()) + " and "
                    + java.util.Arrays.toString(mean.shape()));
        }
    }

    /** The hidden size d. */
    public long dim() {
        return mean.length();
    }
}
