package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.prompt.PromptArgument;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** A template and a verbalizer, each written out or as the path of its JSON file ({@code template.json}, {@code verbalizer.json}). */
final class PromptOptions {
    @Option(names = "--template", paramLabel = "TEMPLATE|FILE",
            description = "A prompt template, e.g. '{text} All in all, it was {mask}.' ({text}, {text_b}, {field:NAME}, {mask}, {soft}, {soft:WORDS}), or a template.json file.")
    String template;
    @Option(names = "--verbalizer", paramLabel = "VERBALIZER|FILE",
            description = "Label words per label, e.g. 'spam=spam,junk;ham=normal', or a verbalizer.json file.")
    String verbalizer;

    /** The template, or null when not given. */
    Template template() {
        if (template == null) return null;
        try {
            return PromptArgument.isFile(template) ? Template.read(Path.of(template)) : Template.parse(template);
        } catch (PeftException e) {
            throw new PeftException("--template: " + e.getMessage());
        }
    }

    /** The verbalizer, or null when not given. */
    Verbalizer verbalizer() {
        if (verbalizer == null) return null;
        try {
            return PromptArgument.isFile(verbalizer) ? Verbalizer.read(Path.of(verbalizer)) : Verbalizer.parse(verbalizer);
        } catch (PeftException e) {
            throw new PeftException("--verbalizer: " + e.getMessage());
        }
    }
}
