package io.peft4j.serve.http;

import io.peft4j.serve.ServeException;

/**
 * An error answered to a client: an HTTP status, a short machine-readable type and a message for people. Written as
 * {@code {"error": {"type": ..., "message": ...}}}; never carries a stack trace.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;

    ApiError(int status, String type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    /** This error with its message passed through {@code f} (which leaves server paths out). */
    ApiError redacted(java.util.function.UnaryOperator<String> f) {
        return new ApiError(status, type, f.apply(getMessage()));
    }

    static ApiError invalidJson(String message) {
        return new ApiError(400, "invalid_json", message);
    }

    static ApiError invalidRequest(String message) {
        return new ApiError(400, "invalid_request", message);
    }

    static ApiError forbidden(String message) {
        return new ApiError(403, "forbidden", message);
    }

    static ApiError overloaded(String message) {
        return new ApiError(503, "overloaded", message);
    }

    static ApiError tooLarge(long max) {
        return new ApiError(413, "payload_too_large", "the request body is larger than " + max + " bytes");
    }

    /** The status and type that fit a backend fault. */
    static ApiError of(ServeException e) {
        return switch (e.kind()) {
            case UNKNOWN_ADAPTER -> new ApiError(404, "unknown_adapter", e.getMessage());
            case BAD_INPUT -> new ApiError(400, "bad_input", e.getMessage());
            case FORBIDDEN -> new ApiError(403, "forbidden", e.getMessage());
            case OVERLOADED -> new ApiError(503, "overloaded", e.getMessage());
            case TIMEOUT -> new ApiError(504, "timeout", e.getMessage());
        };
    }
}
