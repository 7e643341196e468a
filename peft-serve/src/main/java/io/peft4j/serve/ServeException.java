package io.peft4j.serve;

import io.peft4j.core.PeftException;

/** A request the service cannot answer, with the kind of fault (which a server maps to an HTTP status). */
public final class ServeException extends PeftException {
    /** The kind of fault: {@code UNKNOWN_ADAPTER} (404), {@code BAD_INPUT} (400), {@code FORBIDDEN} (403), {@code OVERLOADED} (503), {@code TIMEOUT} (504). */
    public enum Kind { UNKNOWN_ADAPTER, BAD_INPUT, FORBIDDEN, OVERLOADED, TIMEOUT }

    private final Kind kind;

    public ServeException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
