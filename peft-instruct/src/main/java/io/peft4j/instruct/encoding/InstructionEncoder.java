package io.peft4j.instruct.encoding;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * Encodes an instruction's text with the frozen base model: one forward pass with no adapter applied (the pass's row
 * tag names no adapter, and no {@link InstructionBatch} is attached, so instruction-conditioned modules stay off too).
 *
 * <pre>{@code
 * InstructionEncoding e = InstructionEncoder.encode(bert, tokenizer, "Is the following e-mail spam?");
 * e.mean();    // [768]: the mean of the final hidden states over the instruction's tokens
 * }</pre>
 */
public final class InstructionEncoder {
    /** The row tag of the encoding pass: no adapter is named so. */
    static final String FROZEN = "__frozen_instruction__";

    private InstructionEncoder() {
    }

    /** {@code text} with the tokenizer's special tokens, cut to the model's positions, through the frozen model. */
    public static InstructionEncoding encode(TransformerModel model, Tokenizer tokenizer, String text) {
        Encoding enc = tokenizer.encode(text, null, model.config().maxPositions());
        int[] ids = enc.ids();
        INDArray tokens = Workspaces.run(() -> {
            ModelOutput out = model.forward(new Batch(new int[][]{ids}, new int[][]{enc.typeIds()}, null), new ForwardContext(1, List.of(FROZEN), false, 0));
            // the real tokens only: prompt adapters' virtual tokens (masked out for this row) come first
            return new INDArray[]{out.hidden().value().slice(0).get(NDArrayIndex.interval(out.virtualTokens(), out.virtualTokens() + ids.length), NDArrayIndex.all()).dup('c')};
        })[0];
        return new InstructionEncoding(text, tokens, tokens.mean(0));
    }
}
