package io.peft4j.core.data;

/**
 * Which tokens a text longer than the maximum length keeps. A text pair loses tokens from its longer
 * segment first (Hugging Face's {@code longest_first}), on the side this says.
 */
public enum Truncation {
    /** Keep the beginning, drop tokens from the end (Hugging Face's default {@code truncation_side="right"}). */
    HEAD,
    /** Keep the end, drop tokens from the beginning ({@code truncation_side="left"}). */
    TAIL
}
