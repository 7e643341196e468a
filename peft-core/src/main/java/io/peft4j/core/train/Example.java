package io.peft4j.core.train;

/**
 * Training examples for the built-in {@link Objectives}: token ids as the model's tokenizer gives them. Serializable, so a
 * cluster (Spark) can hold and ship them.
 */
public sealed interface Example extends java.io.Serializable {
    int[] ids();

    /** Sequence classification: {@code label} indexes the head's labels. {@code tokenTypes} may be null. */
    record Classification(int[] ids, int[] tokenTypes, int label) implements Example {
    }

    /** Sequence regression. */
    record Regression(int[] ids, int[] tokenTypes, double target) implements Example {
    }

    /** Token classification: a label per token, -100 where no loss is taken (padding, sub-words). */
    record Tokens(int[] ids, int[] labels) implements Example {
    }

    /** Masked-LM cloze: {@code labels[i]} is the token to predict at i, -100 elsewhere. */
    record Cloze(int[] ids, int[] tokenTypes, int[] labels) implements Example {
    }

    /**
     * Causal LM: the loss covers token i (predicted from the tokens before it) where {@code lossMask[i]} is
     * 1, so an instruction example takes its loss on the response only.
     *
     * <p>A packed row of several examples carries {@code segments} (1 + the index of the example each token is
     * from, 1 1 1 2 2 3 ...; see {@link io.peft4j.core.model.Batch}): a decoder then keeps the examples apart (each
     * attends within itself, its positions count from 0) and no token is predicted across a boundary, so the row's
     * loss is the token-weighted mean of its examples' losses. Null for a single example.
     */
    record Lm(int[] ids, int[] lossMask, int[] segments) implements Example {
        public Lm {
            if (segments != null && segments.length != ids.length) {
                throw new IllegalArgumentException("segments of " + segments.length + " for " + ids.length + " tokens");
            }
        }

        /** One example (not packed). */
        public Lm(int[] ids, int[] lossMask) {
            this(ids, lossMask, null);
        }

        /** The loss on every token after the first. */
        public static Lm all(int[] ids) {
            int[] m = new int[ids.length];
            java.util.Arrays.fill(m, 1);
            return new Lm(ids, m);
        }

        /** Loss on the response only: {@code prompt} tokens carry none. */
        public static Lm response(int[] prompt, int[] response) {
            int[] ids = new int[prompt.length + response.length];
            int[] m = new int[ids.length];
            System.arraycopy(prompt, 0, ids, 0, prompt.length);
            System.arraycopy(response, 0, ids, prompt.length, response.length);
            java.util.Arrays.fill(m, prompt.length, ids.length, 1);
            return new Lm(ids, m);
        }
    }
}
