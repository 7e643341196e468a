package io.peft4j.prompt.template;

/**
 * Which end of an input field loses tokens when a rendered prompt is longer than the model takes. Only the
 * fields are shortened, never the template's words, its soft tokens or the mask; with several fields, the
 * one with the most tokens loses a token first (ties: the later field), as Hugging Face's
 * {@code longest_first} does.
 */
public enum Truncation {
    /** Drop tokens at the end of a field (keep its beginning): Hugging Face's default {@code truncation_side="right"}. */
    TAIL,
    /** Drop tokens at the start of a field (keep its end): {@code truncation_side="left"}. */
    HEAD
}
