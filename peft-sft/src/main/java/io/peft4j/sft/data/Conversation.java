package io.peft4j.sft.data;

import java.util.List;

/**
 * One instruction example as a conversation: the turns, the task it belongs to (for multi-task mixtures and per-task
 * scores), and where it was read from (named in every error about it).
 *
 * <pre>{@code
 * Conversation c = Conversation.of(List.of(Message.user("Reverse: abc"), Message.assistant("cba")), "reverse");
 * c.prompt();      // [user: Reverse: abc]
 * c.response();    // "cba"
 * }</pre>
 *
 * @param messages the turns, at least one
 * @param task     the task's name, or {@value #NO_TASK}
 * @param source   the file (or other source) it was read from; null when made in code
 * @param line     its 1-based line in {@code source}, or 0
 */
public record Conversation(List<Message> messages, String task, String source, long line) {
    /** The task of examples that name none. */
    public static final String NO_TASK = "default";

    public Conversation {
        messages = List.copyOf(messages);
        if (messages.isEmpty()) throw new IllegalArgumentException("a conversation needs at least one message");
        if (task == null || task.isBlank()) task = NO_TASK;
    }

    /** A conversation made in code. */
    public static Conversation of(List<Message> messages, String task) {
        return new Conversation(messages, task, null, 0);
    }

    /** Where it came from, for messages: {@code "train.jsonl: line 7"}, or {@code "conversation"}. */
    public String where() {
        return source == null ? "conversation" : line > 0 ? source + ": line " + line : source;
    }

    /** The index of the last assistant turn, or -1. */
    public int lastResponseIndex() {
        for (int i = messages.size() - 1; i >= 0; i--) if (messages.get(i).isAssistant()) return i;
        return -1;
    }

    /** The turns before the last assistant turn: what a model is given to produce it. Every turn when there is none. */
    public List<Message> prompt() {
        int k = lastResponseIndex();
        return k < 0 ? messages : messages.subList(0, k);
    }

    /** The last assistant turn's text (the reference answer in evaluation), or null when there is none. */
    public String response() {
        int k = lastResponseIndex();
        return k < 0 ? null : messages.get(k).content();
    }
}
