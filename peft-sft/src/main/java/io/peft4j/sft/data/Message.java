package io.peft4j.sft.data;

import io.peft4j.core.tokenizer.hf.ChatTemplate;

import java.util.List;
import java.util.Map;

/**
 * One turn of a conversation: a role ({@code system}, {@code user}, {@code assistant}, {@code tool}, or any other the chat
 * template knows) and its text. The {@code assistant} turns are the responses a model is trained to produce.
 *
 * @param role    who speaks; not blank
 * @param content what is said; may be empty
 */
public record Message(String role, String content) {
    /** The role of the turns a model produces. */
    public static final String ASSISTANT = "assistant";

    public Message {
        if (role == null || role.isBlank()) throw new IllegalArgumentException("a message needs a role");
        if (content == null) throw new IllegalArgumentException("a message needs content (it may be empty)");
    }

    /** A system turn. */
    public static Message system(String content) {
        return new Message("system", content);
    }

    /** A user turn. */
    public static Message user(String content) {
        return new Message("user", content);
    }

    /** An assistant turn (a response). */
    public static Message assistant(String content) {
        return new Message(ASSISTANT, content);
    }

    /** Whether this is a response ({@value #ASSISTANT}). */
    public boolean isAssistant() {
        return role.equals(ASSISTANT);
    }

    /** As a chat template reads messages: {@code {"role": ..., "content": ...}}. */
    public Map<String, Object> toTemplate() {
        return ChatTemplate.message(role, content);
    }

    /** {@link #toTemplate} of each message. */
    public static List<Map<String, Object>> toTemplate(List<Message> messages) {
        return messages.stream().map(Message::toTemplate).toList();
    }
}
