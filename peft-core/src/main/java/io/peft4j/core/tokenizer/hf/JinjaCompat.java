package io.peft4j.core.tokenizer.hf;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.objects.SafeString;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What Jinjava lacks of the Jinja2 environment Hugging Face renders chat templates in, kept to what chat templates use:
 * <ul>
 *   <li>Python string methods ({@code .strip('\n')}, {@code .startswith}, {@code .split}, ...) and string indexing
 *       ({@code s[-1]}): {@link PyStrings}, an EL resolver consulted before Jinjava's;</li>
 *   <li>{@code tojson} as Hugging Face defines it ({@code json.dumps} with {@code ensure_ascii=False}: {@code ", "} and
 *       {@code ": "} separators, optional {@code indent}): {@link ToJson};</li>
 *   <li>source rewrites for two constructs Jinjava's parser does not take, done on the template text without moving
 *       any line: keyword arguments whose value is an expression ({@code namespace(i=messages|length - 1)} becomes
 *       {@code namespace(i=(messages|length - 1))}) and slices with a step ({@code xs[::-1]} becomes
 *       {@code peft_slice(xs, none, none, -1)}): {@link #rewrite}.</li>
 * </ul>
 */
final class JinjaCompat {
    private JinjaCompat() {
    }

    // ------------------------------------------------------------------ source rewrites

    /**
     * Rewrites the expressions in {@code {{ }}} and {@code {% %}} tags (text, comments and string literals stay as they
     * are) and applies Jinja's {@code lstrip_blocks} and {@code trim_blocks} to the source: spaces and tabs before a
     * block tag or comment at the start of a line are removed, and the newline right after one becomes a comment
     * {@code {#\n#}}, so it is not output but still counts for the line numbers Jinjava reports (Jinjava's own
     * trimming shifts them).
     */
    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length() + 64);
        int i = 0;
        while (i < template.length()) {
            int open = nextTag(template, i);
            if (open < 0) {
                out.append(template, i, template.length());
                break;
            }
            out.append(template, i, open);
            char kind = template.charAt(open + 1);
            char control = open + 2 < template.length() ? template.charAt(open + 2) : ' ';
            if (kind != '{' && control != '-' && control != '+') lstrip(out);
            String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = kind == '#' ? template.indexOf("#}", open + 2) : tagEnd(template, open + 2, close);
            if (end < 0) {   // unterminated: leave it for Jinjava to report
                out.append(template, open, template.length());
                break;
            }
            String inner = template.substring(open + 2, end);
            out.append(template, open, open + 2);
            if (kind == '%' && inner.strip().replaceFirst("^[-+]", "").strip().startsWith("raw")) {   // {% raw %}...{% endraw %} as it is
                int endRaw = template.indexOf("endraw", end);
                int stop = endRaw < 0 ? template.length() : template.indexOf("%}", endRaw);
                stop = stop < 0 ? template.length() : stop + 2;
                out.append(template, open + 2, stop);
                i = stop;
                continue;
            }
            out.append(kind == '#' ? inner : rewriteExpression(inner)).append(close);
            i = end + 2;
            char before = end > open + 2 ? template.charAt(end - 1) : ' ';
            if (kind != '{' && before != '-' && before != '+' && i < template.length() && template.charAt(i) == '\n') {
                out.append("{#\n#}");
                i++;
            }
        }
        return out.toString();
    }

    /** Removes the spaces and tabs {@code out} ends with when only they stand between the last newline and the end. */
    private static void lstrip(StringBuilder out) {
        int j = out.length();
        while (j > 0 && (out.charAt(j - 1) == ' ' || out.charAt(j - 1) == '\t')) j--;
        boolean lineStart = j == 0 || out.charAt(j - 1) == '\n' || j >= 5 && out.substring(j - 5, j).equals("{#\n#}");
        if (lineStart) out.setLength(j);
    }

    private static int nextTag(String t, int from) {
        for (int i = from; i + 1 < t.length(); i++) {
            if (t.charAt(i) != '{') continue;
            char c = t.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Where {@code close} ends the tag starting at {@code from}, outside string literals; -1 if never. */
    private static int tagEnd(String t, int from, String close) {
        for (int i = from; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(t, i);
                if (i < 0) return -1;
            } else if (t.startsWith(close, i)) {
                return i;
            }
        }
        return -1;
    }

    /** The index of the quote closing the string literal opened at {@code i}, or -1. */
    private static int stringEnd(String t, int i) {
        char q = t.charAt(i);
        for (int j = i + 1; j < t.length(); j++) {
            char c = t.charAt(j);
            if (c == '\\') j++;
            else if (c == q) return j;
        }
        return -1;
    }

    /** Keyword-argument values wrapped in parentheses; {@code base[a:b:c]} as {@code peft_slice(base, a, b, c)}. */
    static String rewriteExpression(String e) {
        StringBuilder out = new StringBuilder(e.length() + 16);
        // per open bracket: its kind, whether it is a call, whether a keyword value is open, and for '[' where it started
        List<int[]> stack = new ArrayList<>();   // {char, isCall, kwargOpen, outStart}
        List<List<Integer>> colons = new ArrayList<>();   // top-level ':' positions (in out) within each '['
        for (int i = 0; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = stringEnd(e, i);
                if (end < 0) end = e.length() - 1;
                out.append(e, i, end + 1);
                i = end;
                continue;
            }
            int[] top = stack.isEmpty() ? null : stack.get(stack.size() - 1);
            switch (c) {
                case '(', '[', '{' -> {
                    boolean call = c == '(' && endsWithOperand(out);
                    stack.add(new int[]{c, call ? 1 : 0, 0, out.length()});
                    colons.add(new ArrayList<>());
                    out.append(c);
                }
                case ')', ']', '}' -> {
                    if (top != null && top[2] == 1) out.append(')');   // close an open keyword value
                    if (top != null && c == ']' && top[0] == '[' && colons.get(colons.size() - 1).size() == 2) {
                        out.append(c);
                        sliceWithStep(out, top[3], colons.get(colons.size() - 1));
                    } else {
                        out.append(c);
                    }
                    if (!stack.isEmpty()) {
                        stack.remove(stack.size() - 1);
                        colons.remove(colons.size() - 1);
                    }
                }
                case ',' -> {
                    if (top != null && top[2] == 1) {
                        out.append(')');
                        top[2] = 0;
                    }
                    out.append(c);
                }
                case ':' -> {
                    if (top != null && top[0] == '[') colons.get(colons.size() - 1).add(out.length());
                    out.append(c);
                }
                case '=' -> {
                    boolean kw = top != null && top[1] == 1 && top[2] == 0 && i + 1 < e.length() && e.charAt(i + 1) != '='
                            && (i == 0 || "=!<>".indexOf(e.charAt(i - 1)) < 0) && keywordBefore(out);
                    out.append(c);
                    if (kw) {
                        out.append('(');
                        top[2] = 1;
                    }
                }
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** Whether the text so far ends with an operand (a name, a closing bracket or a literal), so that '(' is a call. */
    private static boolean endsWithOperand(CharSequence out) {
        int j = out.length() - 1;
        while (j >= 0 && out.charAt(j) == ' ') j--;
        if (j < 0) return false;
        char c = out.charAt(j);
        if (c == ')' || c == ']' || c == '\'' || c == '"') return true;
        if (!Character.isJavaIdentifierPart(c)) return false;
        int k = j;
        while (k >= 0 && Character.isJavaIdentifierPart(out.charAt(k))) k--;
        String word = out.subSequence(k + 1, j + 1).toString();
        return !List.of("and", "or", "not", "in", "is", "if", "else", "elif", "for", "set", "return").contains(word);
    }

    /** Whether the text so far ends with {@code (name} or {@code , name}: the '=' that follows names a keyword argument. */
    private static boolean keywordBefore(CharSequence out) {
        int j = out.length() - 1;
        while (j >= 0 && out.charAt(j) == ' ') j--;
        int end = j;
        while (j >= 0 && Character.isJavaIdentifierPart(out.charAt(j))) j--;
        if (j == end) return false;
        while (j >= 0 && out.charAt(j) == ' ') j--;
        return j >= 0 && (out.charAt(j) == '(' || out.charAt(j) == ',');
    }

    /** {@code out} ends with {@code base[a:b:c]} (the '[' at {@code open}): replaces it by {@code peft_slice(base, a, b, c)}. */
    private static void sliceWithStep(StringBuilder out, int open, List<Integer> colons) {
        int baseStart = open;
        while (baseStart > 0) {
            char c = out.charAt(baseStart - 1);
            if (c == ')' || c == ']') {
                baseStart = matchingOpen(out, baseStart - 1);
                if (baseStart < 0) return;
            } else if (c == '\'' || c == '"') {
                int q = baseStart - 2;
                while (q >= 0 && (out.charAt(q) != c || q > 0 && out.charAt(q - 1) == '\\')) q--;
                if (q < 0) return;
                baseStart = q;
            } else if (Character.isJavaIdentifierPart(c) || c == '.') {
                baseStart--;
            } else {
                break;
            }
        }
        if (baseStart == open) return;   // no base: a list literal's own brackets, left to Jinjava
        String base = out.substring(baseStart, open);
        String a = out.substring(open + 1, colons.get(0)).strip(), b = out.substring(colons.get(0) + 1, colons.get(1)).strip(),
                c = out.substring(colons.get(1) + 1, out.length() - 1).strip();
        out.setLength(baseStart);
        out.append("peft_slice(").append(base).append(", ").append(a.isEmpty() ? "none" : a).append(", ").append(b.isEmpty() ? "none" : b)
                .append(", ").append(c.isEmpty() ? "none" : c).append(')');
    }

    private static int matchingOpen(CharSequence s, int close) {
        int depth = 0;
        for (int i = close; i >= 0; i--) {
            char c = s.charAt(i);
            if (c == ')' || c == ']' || c == '}') depth++;
            else if (c == '(' || c == '[' || c == '{') {
                if (--depth == 0) return i;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ functions

    /** Jinja's {@code raise_exception(message)} as Hugging Face defines it: rendering stops with the message. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** The error {@code raise_exception} throws. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    /** Python's {@code seq[start:stop:step]} on lists and strings. */
    public static Object pySlice(Object seq, Object start, Object stop, Object step) {
        int st = step == null ? 1 : ((Number) step).intValue();
        if (st == 0) throw new IllegalArgumentException("slice step cannot be zero");
        List<Object> items = new ArrayList<>();
        boolean string = seq instanceof CharSequence;
        if (string) seq.toString().codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
        else if (seq instanceof Collection<?> c) items.addAll(c);
        else if (seq instanceof Iterable<?> it) it.forEach(items::add);
        else if (seq != null) throw new IllegalArgumentException("cannot slice " + seq.getClass().getSimpleName());
        int n = items.size();
        int lo, hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(((Number) start).intValue(), n, 0, n);
            hi = stop == null ? n : clamp(((Number) stop).intValue(), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(((Number) start).intValue(), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(((Number) stop).intValue(), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (int i = lo; st > 0 ? i < hi : i > hi; i += st) out.add(items.get(i));
        if (string) return String.join("", out.stream().map(Object::toString).toList());
        return out;
    }

    private static int clamp(int i, int n, int min, int max) {
        if (i < 0) i += n;
        return Math.max(min, Math.min(max, i));
    }

    /** {@code strftime_now(format)}: the current local time in Python's {@code strftime} format (common directives). */
    public static String strftimeNow(String format) {
        ZonedDateTime t = ZonedDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ tojson

    /** Hugging Face's {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=False)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            StringBuilder sb = new StringBuilder();
            write(sb, var, indent == null ? -1 : ((Number) indent).intValue(), 0);
            return sb.toString();
        }

        static void write(StringBuilder sb, Object v, int indent, int depth) {
            if (v instanceof SafeString s) v = s.toString();
            if (v == null) sb.append("null");
            else if (v instanceof Boolean b) sb.append(b ? "true" : "false");
            else if (v instanceof Double || v instanceof Float) {
                double d = ((Number) v).doubleValue();
                sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : pythonFloat(d));
            } else if (v instanceof Number n) sb.append(n);
            else if (v instanceof CharSequence s) string(sb, s.toString());
            else if (v instanceof Map<?, ?> m) {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    separator(sb, first, indent, depth + 1);
                    first = false;
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, depth + 1);
                }
                close(sb, indent, depth);
                sb.append('}');
            } else if (v instanceof Iterable<?> it) {
                Iterator<?> i = it.iterator();
                if (!i.hasNext()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                while (i.hasNext()) {
                    separator(sb, first, indent, depth + 1);
                    first = false;
                    write(sb, i.next(), indent, depth + 1);
                }
                close(sb, indent, depth);
                sb.append(']');
            } else string(sb, v.toString());
        }

        private static void separator(StringBuilder sb, boolean first, int indent, int depth) {
            if (indent < 0) {
                if (!first) sb.append(", ");
            } else {
                if (!first) sb.append(',');
                sb.append('\n').append(" ".repeat(indent * depth));
            }
        }

        private static void close(StringBuilder sb, int indent, int depth) {
            if (indent >= 0) sb.append('\n').append(" ".repeat(indent * depth));
        }

        /** Python's {@code repr} of a float: shortest round-trip digits, {@code 1e+20} style exponents. */
        private static String pythonFloat(double d) {
            if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.format(Locale.ROOT, "%.1f", d);
            String s = Double.toString(d);
            int e = s.indexOf('E');
            if (e < 0) return s;
            String mant = s.substring(0, e), exp = s.substring(e + 1);
            if (mant.endsWith(".0")) mant = mant.substring(0, mant.length() - 2);
            int x = Integer.parseInt(exp);
            if (x >= -4 && x < 16) return new java.math.BigDecimal(d).toString();
            return mant + "e" + (x < 0 ? "-" : "+") + String.format("%02d", Math.abs(x));
        }

        /** A JSON string as Python writes it with {@code ensure_ascii=False}. */
        private static void string(StringBuilder sb, String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        }
    }

    // ------------------------------------------------------------------ Python string methods

    /** Python's {@code str} methods and indexing on Java strings, for Jinjava's expression language. */
    static final class PyStrings extends ELResolver {
        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            // Jinjava hands the index over as a string ("-1")
            Integer index = property instanceof Number n ? Integer.valueOf(n.intValue())
                    : property instanceof String p && p.matches("-?\\d{1,9}") ? Integer.valueOf(p) : null;
            if (base instanceof String s && index != null) {
                int[] cps = s.codePoints().toArray();
                int i = index < 0 ? index + cps.length : index;
                if (i < 0 || i >= cps.length) throw new IndexOutOfBoundsException("string index " + index + " out of range");
                context.setPropertyResolved(true);
                return new String(cps, i, 1);
            }
            return null;
        }

        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (!(base instanceof String s) || method == null) return null;
            Object[] p = params == null ? new Object[0] : params;
            Object r = call(s, method.toString(), p);
            if (r != NONE) context.setPropertyResolved(true);
            return r == NONE ? null : r;
        }

        private static final Object NONE = new Object();

        static Object call(String s, String m, Object[] p) {
            String a0 = p.length > 0 && p[0] != null ? p[0].toString() : null;
            return switch (m) {
                case "strip" -> strip(s, a0, true, true);
                case "lstrip" -> strip(s, a0, true, false);
                case "rstrip" -> strip(s, a0, false, true);
                case "startswith" -> p.length > 0 && p[0] instanceof Collection<?> c ? c.stream().anyMatch(x -> s.startsWith(x.toString())) : s.startsWith(a0);
                case "endswith" -> p.length > 0 && p[0] instanceof Collection<?> c ? c.stream().anyMatch(x -> s.endsWith(x.toString())) : s.endsWith(a0);
                case "split" -> split(s, a0, p.length > 1 ? ((Number) p[1]).intValue() : -1);
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "replace" -> p.length > 2 ? replace(s, a0, String.valueOf(p[1]), ((Number) p[2]).intValue()) : s.replace(a0, String.valueOf(p[1]));
                case "find" -> s.indexOf(a0);
                case "rfind" -> s.lastIndexOf(a0);
                case "count" -> a0.isEmpty() ? s.length() + 1 : (s.length() - s.replace(a0, "").length()) / a0.length();
                case "join" -> String.join(s, p.length > 0 && p[0] instanceof Iterable<?> it ? strings(it) : List.of());
                case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
                case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
                case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
                case "islower" -> s.equals(s.toLowerCase(Locale.ROOT)) && !s.equals(s.toUpperCase(Locale.ROOT));
                case "isupper" -> s.equals(s.toUpperCase(Locale.ROOT)) && !s.equals(s.toLowerCase(Locale.ROOT));
                default -> NONE;
            };
        }

        private static List<String> strings(Iterable<?> it) {
            List<String> out = new ArrayList<>();
            it.forEach(x -> out.add(String.valueOf(x)));
            return out;
        }

        /** Python's strip: white space, or any of {@code chars}. */
        static String strip(String s, String chars, boolean left, boolean right) {
            int a = 0, b = s.length();
            while (left && a < b && (chars == null ? Character.isWhitespace(s.charAt(a)) : chars.indexOf(s.charAt(a)) >= 0)) a++;
            while (right && b > a && (chars == null ? Character.isWhitespace(s.charAt(b - 1)) : chars.indexOf(s.charAt(b - 1)) >= 0)) b--;
            return s.substring(a, b);
        }

        /** Python's split: on runs of white space without a separator, else on each separator; at most {@code max} splits. */
        static List<String> split(String s, String sep, int max) {
            List<String> out = new ArrayList<>();
            if (sep == null) {
                int i = 0, n = s.length();
                while (i < n) {
                    while (i < n && Character.isWhitespace(s.charAt(i))) i++;
                    if (i == n) break;
                    if (max >= 0 && out.size() == max) {
                        out.add(s.substring(i).stripTrailing());
                        break;
                    }
                    int j = i;
                    while (j < n && !Character.isWhitespace(s.charAt(j))) j++;
                    out.add(s.substring(i, j));
                    i = j;
                }
                return out;
            }
            if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
            int from = 0;
            while (max < 0 || out.size() < max) {
                int at = s.indexOf(sep, from);
                if (at < 0) break;
                out.add(s.substring(from, at));
                from = at + sep.length();
            }
            out.add(s.substring(from));
            return out;
        }

        private static String replace(String s, String a, String b, int count) {
            StringBuilder sb = new StringBuilder();
            int from = 0, done = 0;
            while (count < 0 || done < count) {
                int at = s.indexOf(a, from);
                if (at < 0) break;
                sb.append(s, from, at).append(b);
                from = at + a.length();
                done++;
            }
            return sb.append(s.substring(from)).toString();
        }

        private static String title(String s) {
            StringBuilder sb = new StringBuilder(s.length());
            boolean prevCased = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
                prevCased = Character.isLetter(c);
            }
            return sb.toString();
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }
}
