package io.peft4j.serve.http;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;

/**
 * Jetty's own error answers (a malformed HTTP message, headers too large, a request arriving while the server drains)
 * in the server's JSON error shape instead of Jetty's HTML page, without stack traces.
 */
final class JsonErrorHandler extends ErrorHandler {
    JsonErrorHandler() {
        setShowStacks(false);
        setShowCauses(false);
        setShowOrigin(false);
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, InferenceServer.JSON_TYPE);
        response.write(true, ByteBuffer.wrap(InferenceServer.errorBody(type(code), message(code, message))), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, InferenceServer.JSON_TYPE);
        return ByteBuffer.wrap(InferenceServer.errorBody(type(status), message(status, reason)));
    }

    static String type(int code) {
        return switch (code) {
            case 400 -> "bad_request";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "payload_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            case 503 -> "unavailable";
            default -> "http_" + code;
        };
    }

    private static String message(int code, String message) {
        if (code == 503) return "the server is shutting down or unavailable";
        String reason = HttpStatus.getMessage(code);
        return message == null || message.isBlank() ? reason : message;
    }
}
