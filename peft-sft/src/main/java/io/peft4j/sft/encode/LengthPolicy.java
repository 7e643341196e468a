package io.peft4j.sft.encode;

/**
 * What happens to an encoded conversation longer than the maximum length. Never an error: a long example is cut or
 * skipped as chosen, and {@link ConversationEncoder.Encoding} counts how many were.
 */
public enum LengthPolicy {
    /**
     * Keep the response and cut the prompt's start (the default). With {@code f} the first response token, {@code R}
     * the tokens from it to the end and {@code L} the maximum, the prompt keeps its last
     * {@code min(f, max(L - R, L / 2))} tokens (the text nearest the response: the instruction's end and the generation
     * prompt) and the response its first {@code L} minus those: a short response stays whole, a long one keeps its
     * start and loses its end (and its end-of-sequence token) with at least half the window left to the prompt.
     */
    CUT_PROMPT_START,
    /** Keep the first {@code L} tokens (Hugging Face's right truncation); an example left with no response token is skipped. */
    CUT_END,
    /** Skip the example. */
    DROP;

    /** {@code cut-prompt-start}, {@code cut-end} or {@code drop} (any case, '-' or '_'); null for anything else. */
    public static LengthPolicy parse(String name) {
        for (LengthPolicy p : values()) if (p.name().replace('_', '-').equalsIgnoreCase(name.replace('_', '-'))) return p;
        return null;
    }
}
