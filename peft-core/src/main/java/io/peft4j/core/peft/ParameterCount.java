package io.peft4j.core.peft;

import java.util.Locale;

/**
 * Trainable and total parameters, counted as Hugging Face PEFT's {@code print_trainable_parameters} does:
 * each distinct tensor once (tied weights once), adapters and heads included in the total.
 */
public record ParameterCount(long trainable, long all) {
    public double trainablePercent() {
        return all == 0 ? 0 : 100.0 * trainable / all;
    }

    /** {@code trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364}. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", trainable, all, trainablePercent());
    }
}
