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

    /**
     * The window {@code [from, to)} this policy keeps of an example of {@code lossMask.length} tokens longer than
     * {@code maxLength}, or null when it skips the example.
     */
    public int[] window(int[] lossMask, int maxLength) {
        int n = lossMask.length;
        return switch (this) {
            case DROP -> null;
            case CUT_END -> new int[]{0, maxLength};
            case CUT_PROMPT_START -> {
                int f = 0;
                while (f < n && lossMask[f] == 0) f++;
                if (f == n) yield new int[]{0, maxLength};       // nothing marked: keep the start
                f = Math.max(f, 1);
                int rest = n - f;
                int keepPrompt = Math.min(f, Math.max(maxLength - rest, maxLength / 2));
                yield new int[]{f - keepPrompt, f - keepPrompt + maxLength};
            }
        };
    }

    /**
     * {@code e} if it has at most {@code maxLength} tokens, else the part this policy keeps of it; null when the
     * policy skips it or the part has no loss target left (no token i ≥ 1 with a mask of 1).
     */
    public io.peft4j.core.train.Example.Lm apply(io.peft4j.core.train.Example.Lm e, int maxLength) {
        if (e.ids().length <= maxLength) return e;
        int[] w = window(e.lossMask(), maxLength);
        if (w == null) return null;
        int[] mask = java.util.Arrays.copyOfRange(e.lossMask(), w[0], w[1]);
        int targets = 0;
        for (int i = 1; i < mask.length; i++) targets += mask[i];
        return targets == 0 ? null : new io.peft4j.core.train.Example.Lm(java.util.Arrays.copyOfRange(e.ids(), w[0], w[1]), mask);
    }

    /** {@code cut-prompt-start}, {@code cut-end} or {@code drop} (any case, '-' or '_'); null for anything else. */
    public static LengthPolicy parse(String name) {
        for (LengthPolicy p : values()) if (p.name().replace('_', '-').equalsIgnoreCase(name.replace('_', '-'))) return p;
        return null;
    }
}
