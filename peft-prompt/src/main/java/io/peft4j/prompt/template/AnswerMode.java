package io.peft4j.prompt.template;

import io.peft4j.core.model.ModelConfig;

/** Where a model gives its answer to a prompt. */
public enum AnswerMode {
    /** A masked LM (BERT): the LM head's prediction at the template's {@code {mask}} token. */
    MASK,
    /**
     * A decoder (GPT-2, the Llama family): the next-token prediction after the rendered prompt, read at its last token. The
     * template ends at {@code {mask}} (template words after it are dropped, as OpenPrompt's LM wrapper does).
     */
    NEXT_TOKEN,
    /**
     * No answer position: the whole template is rendered (a {@code {mask}} as the mask token where the tokenizer
     * has one) and {@link Rendered#answerPosition()} is -1; for a classification head that pools the sequence.
     */
    NONE;

    /** The mode of a base model: an encoder (BERT) answers at the mask, a decoder (GPT-2, Llama) with its next token. */
    public static AnswerMode of(ModelConfig config) {
        return config.architecture().decoder() ? NEXT_TOKEN : MASK;
    }
}
