package io.peft4j.instruct;

import io.peft4j.core.PeftException;

import java.util.Arrays;
import java.util.Locale;

/** The three ways of conditioning the model on an instruction that the study compares. */
public enum Scheme {
    /**
     * Template-based prompting: the instruction is the template the example is rendered into, around its answer slot;
     * any PEFT method (LoRA by default) trains on the rendered examples.
     */
    PROMPT,
    /**
     * Prefix instruction: the instruction is encoded once (by the frozen model, then a small trained encoder) into the
     * keys and values of a prefix that the example, rendered without the instruction's words, attends to.
     */
    PREFIX,
    /**
     * Hypernetwork: a small trained network reads the instruction's embedding and writes a LoRA adapter for it; the
     * example, rendered without the instruction's words, runs through that adapter.
     */
    HYPER;

    /** The scheme's name in options and results: {@code prompt}, {@code prefix}, {@code hyper}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The scheme named {@code key}; an unknown name is an error listing the valid ones. */
    public static Scheme parse(String key) {
        for (Scheme s : values()) if (s.key().equals(key)) return s;
        throw new PeftException("unknown scheme '" + key + "' (schemes: " + String.join(", ", Arrays.stream(values()).map(Scheme::key).toList()) + ")");
    }
}
