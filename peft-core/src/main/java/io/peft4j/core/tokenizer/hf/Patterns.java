package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code pattern} fields of {@code tokenizer.json} ({@code {"String": "..."}} or {@code {"Regex": "..."}}) as Java
 * patterns. Hugging Face compiles regexes with Oniguruma (Ruby syntax, UTF-8); the Java translation keeps its meaning
 * for what tokenizer files use: Unicode {@code \s \w \d \b} and case folding ({@link Pattern#UNICODE_CHARACTER_CLASS}),
 * {@code \p{L}}-style properties, possessive quantifiers and atomic groups (native in Java), {@code .} excluding only
 * {@code \n} and {@code ^ $} as line anchors ({@link Pattern#UNIX_LINES}, {@link Pattern#MULTILINE}), and
 * Oniguruma's {@code \h} (hex digit; Java's is horizontal space) rewritten.
 */
final class Patterns {
    private Patterns() {
    }

    static final int FLAGS = Pattern.UNICODE_CHARACTER_CLASS | Pattern.MULTILINE | Pattern.UNIX_LINES;

    /** Reads {@code n} (the pattern object itself) at {@code where}. */
    static Pattern parse(Where where, JsonNode n) {
        where.object(n);
        if (n.size() != 1) throw where.fail("must hold exactly one of 'String' or 'Regex', not " + n);
        if (n.has("String")) return Pattern.compile(Pattern.quote(where.text(n, "String", null)));
        if (n.has("Regex")) return regex(where.at("Regex"), where.text(n, "Regex", null));
        throw where.fail("must hold 'String' or 'Regex', not " + n);
    }

    /** Compiles an Oniguruma pattern as Java; a pattern Java cannot compile is a fault at {@code where}. */
    static Pattern regex(Where where, String onig) {
        try {
            return Pattern.compile(translate(onig), FLAGS);
        } catch (PatternSyntaxException | StackOverflowError e) {
            throw where.fail("regex '" + onig + "' does not compile: " + (e instanceof PatternSyntaxException p ? p.getDescription() : "too deeply nested"));
        }
    }

    /** Oniguruma to Java: only {@code \h} / {@code \H} differ among the constructs tokenizer files use. */
    static String translate(String onig) {
        StringBuilder sb = new StringBuilder(onig.length() + 16);
        for (int i = 0; i < onig.length(); i++) {
            char c = onig.charAt(i);
            if (c == '\\' && i + 1 < onig.length()) {
                char d = onig.charAt(++i);
                if (d == 'h') sb.append("[0-9A-Fa-f]");
                else if (d == 'H') sb.append("[^0-9A-Fa-f]");
                else sb.append(c).append(d);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
