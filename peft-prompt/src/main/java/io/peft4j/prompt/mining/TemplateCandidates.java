package io.peft4j.prompt.mining;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.TextFiles;
import io.peft4j.prompt.template.Template;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Candidate templates for a {@link TemplateSearch}: a built-in set (after LM-BFF's manual templates and PET's patterns)
 * and the user's files. A file holds one template per line ({@link Template#parse} syntax); blank lines and lines
 * whose first non-blank character is {@code #} are skipped; a template that does not parse is an error naming the
 * file and line, and so is a file with no template.
 *
 * <pre>{@code
 * List<TemplateCandidates.Candidate> all = TemplateCandidates.concat(TemplateCandidates.builtin(false),
 *         TemplateCandidates.read(Path.of("my-templates.txt")));
 * }</pre>
 */
public final class TemplateCandidates {
    private static final Logger LOG = LoggerFactory.getLogger(TemplateCandidates.class);
    /** The built-in candidates for one text and for a text pair, resources of this package. */
    static final String SINGLE = "templates-single.txt", PAIR = "templates-pair.txt";

    private TemplateCandidates() {
    }

    /**
     * A candidate template and where it was written.
     *
     * @param template the template
     * @param source   the file it was read from ({@code built-in:templates-single.txt} for the built-ins)
     * @param line     its 1-based line there
     */
    public record Candidate(Template template, String source, int line) {
        /** {@code source:line}. */
        public String origin() {
            return source + ":" + line;
        }

        /** An error about this candidate: {@code "<source>: line <line>: <fault>"}. */
        public PeftException error(String fault) {
            return PeftException.inFile(source, "line " + line + ": " + fault);
        }
    }

    /**
     * The built-in candidates: for one text ({@code {text}}, 18 templates such as {@code {text} It was {mask}.},
     * {@code {text} All in all, it was {mask}.}, {@code Just {mask}! {text}}, {@code {mask}: {text}}) or, with
     * {@code pairs}, for a text pair ({@code {text}} and {@code {text_b}}, 11 templates such as
     * {@code {text} ? {mask}, {text_b}}). Every built-in has a {@code {mask}}.
     */
    public static List<Candidate> builtin(boolean pairs) {
        String name = pairs ? PAIR : SINGLE;
        try (InputStream in = TemplateCandidates.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from peft-prompt");
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList(), "built-in:" + name);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + name, e);
        }
    }

    /** The candidates of a file (UTF-8, one template per line, {@code #} comments); faults name the file and line. */
    public static List<Candidate> read(Path file) {
        return parse(TextFiles.lines(file), file.toString());
    }

    /** The candidates of {@code lines} read from {@code source} (named in errors). */
    public static List<Candidate> parse(List<String> lines, String source) {
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String s = lines.get(i).strip();
            if (s.isEmpty() || s.startsWith("#")) continue;
            Template t;
            try {
                t = Template.parse(s);
            } catch (PeftException e) {
                throw PeftException.inFile(source, "line " + (i + 1) + ": " + e.getMessage());
            }
            out.add(new Candidate(t, source, i + 1));
        }
        if (out.isEmpty()) throw PeftException.inFile(source, "no candidate templates (" + (lines.isEmpty() ? "the file is empty" : "only blank lines and # comments") + ")");
        return List.copyOf(out);
    }

    /** The candidates of all lists in order, a template written a second time (same text) left out. */
    @SafeVarargs
    public static List<Candidate> concat(List<Candidate>... lists) {
        Set<String> seen = new HashSet<>();
        List<Candidate> out = new ArrayList<>();
        for (List<Candidate> l : lists) {
            for (Candidate c : l) {
                if (seen.add(c.template().text())) out.add(c);
                else LOG.info("template '{}' at {} is already a candidate: left out", c.template().text(), c.origin());
            }
        }
        return List.copyOf(out);
    }
}
