package io.peft4j.demo;

import java.util.List;
import java.util.Optional;

/**
 * The zero-shot prompt of each built-in task: a template and label words written a priori from the task's
 * description (LM-BFF-style templates, plain label words), never tuned on a dev set. The demo's zero-shot row and
 * the experiments behind {@code docs/results.md} both read them here.
 *
 * <pre>{@code
 * TaskPrompts.Prompt p = TaskPrompts.of("spam").orElseThrow();
 * Template t = Template.parse(p.template());       // "Subject: {text}. {text_b} This e-mail is {mask}."
 * Verbalizer v = Verbalizer.parse(p.verbalizer()); // spam=spam,junk;ham=personal,normal
 * }</pre>
 */
public final class TaskPrompts {
    /**
     * A task's prompt.
     *
     * @param task       the built-in dataset's name
     * @param template   the template ({@code {text}}, {@code {text_b}}, {@code {mask}})
     * @param verbalizer the label words, {@code label=word,word;label=word}
     * @param maxLength  tokens to encode a rendered example to (the template's own tokens included)
     */
    public record Prompt(String task, String template, String verbalizer, int maxLength) {
    }

    /** The prompts of the built-in tasks. */
    public static final List<Prompt> ALL = List.of(
            new Prompt("spam", "Subject: {text}. {text_b} This e-mail is {mask}.", "spam=spam,junk;ham=personal,normal", 256),
            new Prompt("sotu", "{text} The speaker is a {mask}.", "democratic=democrat;republican=republican", 192),
            new Prompt("opinion-words", "{text}. It was {mask}.", "positive=great;negative=terrible", 32),
            new Prompt("afinn-sentiment", "{text}. It was {mask}.", "positive=great;negative=terrible", 32),
            new Prompt("name-gender", "{text} is a {mask}.", "female=woman;male=man", 32),
            new Prompt("stopword-language", "The word \"{text}\" is {mask}.",
                    "finnish=finnish;french=french;german=german;italian=italian;portuguese=portuguese;spanish=spanish;swedish=swedish", 32));

    private TaskPrompts() {
    }

    /** The prompt of built-in task {@code task}, if it has one. */
    public static Optional<Prompt> of(String task) {
        return ALL.stream().filter(p -> p.task().equals(task)).findFirst();
    }
}
