package io.peft4j.prompt.verbalizer;

/**
 * How a label word that the tokenizer splits into several tokens is scored at the single answer position, from
 * its tokens' log-probabilities there (OpenPrompt's {@code multi_token_handler}).
 */
public enum MultiToken {
    /** Every label word must be one token; a longer one is an error (PET's {@code force_single_token}). */
    SINGLE,
    /** The first token's log-probability (OpenPrompt's default). */
    FIRST,
    /** The mean of the tokens' log-probabilities. */
    MEAN,
    /** The largest of the tokens' log-probabilities. */
    MAX
}
