package io.peft4j.core.model;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * A frozen pretrained transformer with hook sites. Implementations keep the whole architecture in one
 * file ({@link Bert}, {@link Gpt2}, {@link Llama}); every base weight is a constant {@link Tensor}, so backward
 * passes compute input gradients only. What methods may know about the family is its {@link #architecture()}.
 */
public interface TransformerModel {
    ModelConfig config();

    /** The model's family: its defaults for methods, whether it is a decoder, its names in adapter files. */
    default Architecture architecture() {
        return config().architecture();
    }

    /**
     * The token embedding table {@code [V, D]} (the {@link Architecture#inputEmbedding()} parameter), or null for a
     * model {@linkplain Models#describe described} without weights. Prompt tuning initialises from its rows.
     */
    default Tensor inputEmbeddings() {
        return parameters().get(architecture().inputEmbedding());
    }

    /** The hook sites and what is installed on them. */
    Hooks hooks();

    /** Every base weight under its Hugging Face name (without the {@code bert.}/{@code transformer.} prefix), stored {@code [in, out]} for linears. */
    Map<String, Tensor> parameters();

    /**
     * Every base weight as a Hugging Face checkpoint of this architecture stores it: under that key (BERT's
     * encoder with {@code bert.} and its masked-LM head's {@code cls.} keys bare, as {@code BertForMaskedLM}
     * writes them; GPT-2's bare, as the hub's {@code gpt2} has them) and in that orientation (BERT's linears
     * {@code [out, in]}). The values are the current ones: after full fine-tuning, the trained weights.
     * {@link Models#writeCheckpoint} writes them.
     */
    Map<String, INDArray> huggingFaceStateDict();

    DataType dataType();

    /**
     * The path of the base model inside Hugging Face's task models, prepended to hook-site names in adapter
     * files: {@code transformer.} for GPT-2 ({@code GPT2LMHeadModel}), {@code bert.} for BERT
     * ({@code BertFor...}), {@code model.} for the Llama family ({@code LlamaForCausalLM}). Loading also accepts
     * keys without it (bare {@code BertModel}).
     */
    default String modulePrefix() {
        return architecture().modulePrefix();
    }

    /** Runs the model. */
    ModelOutput forward(Batch batch, ForwardContext ctx);

    /** Vocabulary logits from hidden states: a decoder's LM head, BERT's masked-LM head. */
    Tensor lmLogits(Tensor hidden);

    /** Total parameter count, tied weights counted once (Hugging Face's convention). */
    long parameterCount();
}
