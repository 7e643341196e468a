package io.peft4j.core;

/**
 * The one unchecked exception peft4j throws for bad input: a malformed checkpoint, config, vocabulary or
 * request. Its message names the file (or field) and the fault, ready to show to a user as it is.
 */
public class PeftException extends RuntimeException {
    public PeftException(String message) {
        super(message);
    }

    public PeftException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An error about one file: {@code "<file>: <fault>"}. */
    public static PeftException inFile(Object file, String fault) {
        return new PeftException(file + ": " + fault);
    }
}
