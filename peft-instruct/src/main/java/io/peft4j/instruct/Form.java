package io.peft4j.instruct;

import java.util.Locale;

/**
 * The form an instruction takes, the three the study compares: a bare task name ({@code "spam detection: {text}
 * {mask}"}), a sentence-style instruction ({@code "Is the following e-mail spam? Answer yes or no. {text} Answer:
 * {mask}."}) and a longer human-style paragraph that describes the task.
 */
public enum Form {
    /** One sentence or question that says what to answer. */
    SENTENCE,
    /** The task's name and nothing else. */
    NAME,
    /** A paragraph describing the task as one would to a person. */
    PARAGRAPH;

    /** The form's name in instruction files: {@code sentence}, {@code name}, {@code paragraph}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The form named {@code key} in an instruction file, or null when there is none. */
    public static Form parse(String key) {
        for (Form f : values()) if (f.key().equals(key)) return f;
        return null;
    }
}
