package io.peft4j.prompt.verbalizer;

/**
 * What the per-word scores are before the mean over a class's label words. The three differ only by a constant
 * per input (the same for every class), so they give the same predictions, the same class probabilities
 * ({@code softmax} over the classes), the same training loss and the same calibrated results; only the raw
 * class scores differ.
 */
public enum Normalization {
    /** Log-softmax over the vocabulary at the answer position, then the word's tokens (issue 15; the default). */
    VOCABULARY,
    /**
     * OpenPrompt's {@code ManualVerbalizer} with {@code post_log_softmax=True}: the word's tokens from the raw
     * logits, then log-softmax over all label words of all classes.
     */
    LABEL_WORDS,
    /** The raw logits (PET's class logits; OpenPrompt with {@code post_log_softmax=False}). */
    NONE
}
