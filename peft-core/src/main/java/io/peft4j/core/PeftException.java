package io.peft4j.core;

/**
 * The one unchecked exception peft4j throws for bad input: a malformed checkpoint, config, vocabulary or
 * request. Its message names the file (or field) and the fault, ready to show to a user as it is.
 */
public class PeftException extends RuntimeException {
    /** Messages are cut to this many characters: a file's values are quoted in them, and a file may hold megabytes. */
    public static final int MAX_MESSAGE = 1_000;

    public PeftException(String message) {
        super(shorten(message));
    }

    public PeftException(String message, Throwable cause) {
        super(shorten(message), cause);
    }

    /**
     * This error with {@code context} appended, {@code "<message> (<context>)"}: for a fault between two files
     * (weights that do not fit their config), the caller that knows the other file adds it.
     */
    public PeftException with(String context) {
        return new PeftException(getMessage() + " (" + context + ")", this);
    }

    private static String shorten(String m) {
        if (m == null || m.length() <= MAX_MESSAGE) return m;
        int keep = MAX_MESSAGE / 2 - 20;
        return m.substring(0, keep) + " [... " + (m.length() - 2 * keep) + " characters ...] " + m.substring(m.length() - keep);
    }

    /** An error about one file: {@code "<file>: <fault>"}. */
    public static PeftException inFile(Object file, String fault) {
        return new PeftException(file + ": " + fault);
    }
}
