package io.peft4j.core.data;

/**
 * Which end of a text loses tokens when it is longer than the maximum length. A text pair, or a template's
 * several fields, lose tokens from the longest first (Hugging Face's {@code longest_first}), at the end this
 * says; a template's own words and its mask are never cut.
 */
public enum Truncation {
    /** Drop tokens at the end, keep the beginning (Hugging Face's default, {@code truncation_side="right"}). */
    END,
    /** Drop tokens at the start, keep the end ({@code truncation_side="left"}): a long e-mail's signature and quoted reply survive. */
    START;

    /** {@code "end"} or {@code "start"} (any case); null for anything else. */
    public static Truncation parse(String name) {
        for (Truncation t : values()) if (t.name().equalsIgnoreCase(name)) return t;
        return null;
    }
}
