package io.peft4j.prompt.mining;

import java.util.Locale;

/** Formatting for the Markdown reports of the searches. */
final class Tables {
    private Tables() {
    }

    /** Text for a table cell: {@code |} escaped, line breaks as spaces. */
    static String cell(String s) {
        return s.replace("\\", "\\\\").replace("|", "\\|").replace('\n', ' ').replace('\r', ' ');
    }

    /** Text for an inline code span inside a table cell or a line ({@code `} would end the span). */
    static String code(String s) {
        return cell(s).replace('`', '\'');
    }

    /** A number with 4 decimals (or its name when it is not finite). */
    static String num(double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, "%.4f", x) : String.valueOf(x);
    }

    /** An enum constant as written in files and on the command line: lower case. */
    static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
