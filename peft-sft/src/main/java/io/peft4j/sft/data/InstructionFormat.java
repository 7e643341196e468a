package io.peft4j.sft.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * The JSON-lines layouts of instruction data, one object per line; any of them may name its {@code "task"}
 * (a string) and may carry other fields, which are ignored.
 */
public enum InstructionFormat {
    /**
     * Stanford Alpaca's: {@code {"instruction": ..., "input": ..., "output": ...}}, {@code input} optional (absent or
     * empty: none), optionally {@code "system"}. The user turn is the instruction, then a blank line and the input when
     * there is one; the assistant turn is the output.
     */
    ALPACA,
    /**
     * Chat: {@code {"messages": [{"role": ..., "content": ...}, ...]}}, the layout of Hugging Face TRL's conversational
     * datasets and of OpenAI's fine-tuning files. Every assistant turn is a response.
     */
    CHAT,
    /** Prompt and completion: {@code {"prompt": ..., "completion": ...}}, a user turn and an assistant turn. */
    COMPLETION;

    /** {@code alpaca}, {@code chat} or {@code completion} (any case); null for anything else. */
    public static InstructionFormat parse(String name) {
        for (InstructionFormat f : values()) if (f.name().equalsIgnoreCase(name)) return f;
        return null;
    }

    /** The names {@link #parse} accepts, for messages. */
    public static String names() {
        return String.join("|", Arrays.stream(values()).map(f -> f.name().toLowerCase(Locale.ROOT)).toList());
    }
}
