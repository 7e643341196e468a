package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code tokenizer.json} normalizer: rewrites each stretch of text between added tokens before pre-tokenization.
 * Supported types: {@value #TYPES}.
 */
@FunctionalInterface
interface Normalizer {
    String TYPES = "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, BertNormalizer";

    String normalize(String text);

    /** Reads the normalizer object {@code n} (not null) at {@code where}. */
    static Normalizer parse(Where where, JsonNode n) {
        where.object(n);
        String type = where.text(n, "type", null);
        return switch (type) {
            case "Sequence" -> {
                JsonNode list = where.array(n, "normalizers");
                List<Normalizer> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) parts.add(parse(where.at("normalizers").at(i), list.get(i)));
                yield s -> {
                    for (Normalizer p : parts) s = p.normalize(s);
                    return s;
                };
            }
            case "NFC" -> s -> unicode(s, Form.NFC);
            case "NFD" -> s -> unicode(s, Form.NFD);
            case "NFKC" -> s -> unicode(s, Form.NFKC);
            case "NFKD" -> s -> unicode(s, Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "StripAccents" -> Normalizer::stripMarks;
            case "Strip" -> {
                boolean left = where.bool(n, "strip_left", false), right = where.bool(n, "strip_right", false);
                yield s -> strip(s, left, right);
            }
            case "Prepend" -> {
                String p = where.text(n, "prepend", null);
                yield s -> s.isEmpty() ? s : p + s;
            }
            case "Replace" -> {
                Pattern p = Patterns.parse(where.at("pattern"), n.get("pattern"));
                String content = Matcher.quoteReplacement(where.text(n, "content", null));
                yield s -> p.matcher(s).replaceAll(content);
            }
            case "BertNormalizer" -> bert(where.bool(n, "clean_text", true), where.bool(n, "handle_chinese_chars", true),
                    n.hasNonNull("strip_accents") ? where.bool(n, "strip_accents", false) : null, where.bool(n, "lowercase", true));
            default -> throw where.at("type").unsupported(type, List.of(TYPES.split(", ")));
        };
    }

    private static String unicode(String s, Form form) {
        return java.text.Normalizer.isNormalized(s, form) ? s : java.text.Normalizer.normalize(s, form);
    }

    /** Removes combining marks (general category M), as Hugging Face's {@code StripAccents}. */
    static String stripMarks(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().filter(cp -> !isMark(cp)).forEach(sb::appendCodePoint);
        return sb.toString();
    }

    static boolean isMark(int cp) {
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK || t == Character.ENCLOSING_MARK;
    }

    /** Removes leading and/or trailing Unicode white space. */
    static String strip(String s, boolean left, boolean right) {
        int a = 0, b = s.length();
        while (left && a < b && isUnicodeSpace(s.codePointAt(a))) a += Character.charCount(s.codePointAt(a));
        while (right && b > a && isUnicodeSpace(s.codePointBefore(b))) b -= Character.charCount(s.codePointBefore(b));
        return s.substring(a, b);
    }

    /** Rust's {@code char::is_whitespace}: the Unicode White_Space property. */
    static boolean isUnicodeSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /** BERT's normalizer: control characters dropped, white space to spaces, CJK ideographs spaced, optional lower-casing and accent stripping. */
    private static Normalizer bert(boolean cleanText, boolean chinese, Boolean stripAccents, boolean lowercase) {
        boolean strip = stripAccents == null ? lowercase : stripAccents;
        return s -> {
            StringBuilder sb = new StringBuilder(s.length());
            s.codePoints().forEach(cp -> {
                if (cleanText) {
                    if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
                    if (isUnicodeSpace(cp)) cp = ' ';
                }
                if (chinese && isCjk(cp)) sb.append(' ').appendCodePoint(cp).append(' ');
                else sb.appendCodePoint(cp);
            });
            String out = sb.toString();
            if (strip) out = stripMarks(java.text.Normalizer.normalize(out, Form.NFD));
            if (lowercase) out = out.toLowerCase(Locale.ROOT);
            return out;
        };
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE || t == Character.UNASSIGNED || t == Character.SURROGATE;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
