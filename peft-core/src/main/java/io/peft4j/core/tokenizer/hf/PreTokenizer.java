package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code tokenizer.json} pre-tokenizer: splits normalized text into the pieces the model tokenizes one by one.
 * Supported types: {@value #TYPES}.
 */
@FunctionalInterface
interface PreTokenizer {
    String TYPES = "Sequence, Split, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Punctuation, Digits, BertPreTokenizer";

    /** A piece of text; {@code atStart} when it begins at offset 0 of the input (Metaspace's {@code prepend_scheme: first}). */
    record Piece(String text, boolean atStart) {
    }

    /** Splits {@code piece}, appending the non-empty results to {@code out}. */
    void split(Piece piece, List<Piece> out);

    /** How a {@code Split}'s matches become pieces (Hugging Face's {@code SplitDelimiterBehavior}). */
    enum Behavior {
        Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous
    }

    /** GPT-2's pre-tokenization pattern, used by {@code ByteLevel} with {@code use_regex}. */
    Pattern GPT2 = Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", Patterns.FLAGS);
    /** {@code Whitespace}: words and runs of other non-space characters. */
    Pattern WORDS = Pattern.compile("\\w+|[^\\w\\s]+", Patterns.FLAGS);
    Pattern SPACES = Pattern.compile("\\s+", Patterns.FLAGS);

    /** Reads the pre-tokenizer object {@code n} (not null) at {@code where}. */
    static PreTokenizer parse(Where where, JsonNode n) {
        where.object(n);
        String type = where.text(n, "type", null);
        return switch (type) {
            case "Sequence" -> {
                JsonNode list = where.array(n, "pretokenizers");
                List<PreTokenizer> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) parts.add(parse(where.at("pretokenizers").at(i), list.get(i)));
                yield (piece, out) -> {
                    List<Piece> cur = List.of(piece);
                    for (PreTokenizer p : parts) {
                        List<Piece> next = new ArrayList<>(cur.size() * 2);
                        for (Piece c : cur) p.split(c, next);
                        cur = next;
                    }
                    out.addAll(cur);
                };
            }
            case "Split" -> {
                Pattern p = Patterns.parse(where.at("pattern"), n.get("pattern"));
                Behavior b = behavior(where, n);
                boolean invert = where.bool(n, "invert", false);
                yield (piece, out) -> split(piece, p, b, invert, out);
            }
            case "ByteLevel" -> {
                boolean prefix = where.bool(n, "add_prefix_space", true), regex = where.bool(n, "use_regex", true);
                yield (piece, out) -> {
                    String t = piece.text();
                    if (prefix && !t.startsWith(" ")) t = " " + t;
                    if (!regex) {
                        out.add(new Piece(ByteLevel.encode(t), piece.atStart()));
                        return;
                    }
                    List<Piece> parts = new ArrayList<>();
                    split(new Piece(t, piece.atStart()), GPT2, Behavior.Isolated, false, parts);
                    for (Piece q : parts) out.add(new Piece(ByteLevel.encode(q.text()), q.atStart()));
                };
            }
            case "Metaspace" -> {
                int rep = where.character(n, "replacement", "\u2581");
                String r = new String(Character.toChars(rep));
                String scheme = metaspaceScheme(where, n);
                boolean split = where.bool(n, "split", true);
                Pattern delimiter = Pattern.compile(Pattern.quote(r));
                yield (piece, out) -> {
                    String t = piece.text().replace(" ", r);
                    boolean prepend = scheme.equals("always") || scheme.equals("first") && piece.atStart();
                    if (prepend && !t.startsWith(r)) t = r + t;
                    Piece q = new Piece(t, piece.atStart());
                    if (split) split(q, delimiter, Behavior.MergedWithNext, false, out);
                    else if (!t.isEmpty()) out.add(q);
                };
            }
            case "Whitespace" -> (piece, out) -> split(piece, WORDS, Behavior.Removed, true, out);
            case "WhitespaceSplit" -> (piece, out) -> split(piece, SPACES, Behavior.Removed, false, out);
            case "Punctuation" -> {
                Behavior b = behavior(where, n);
                yield (piece, out) -> splitChars(piece, PreTokenizer::isPunctuation, b, out);
            }
            case "Digits" -> {
                boolean single = where.bool(n, "individual_digits", false);
                yield (piece, out) -> splitChars(piece, Character::isDigit, single ? Behavior.Isolated : Behavior.Contiguous, out);
            }
            case "BertPreTokenizer" -> (piece, out) -> {
                List<Piece> words = new ArrayList<>();
                split(piece, SPACES, Behavior.Removed, false, words);
                for (Piece w : words) splitChars(w, PreTokenizer::isPunctuation, Behavior.Isolated, out);
            };
            default -> throw where.at("type").unsupported(type, List.of(TYPES.split(", ")));
        };
    }

    private static Behavior behavior(Where where, JsonNode n) {
        String b = where.text(n, "behavior", "Isolated");
        try {
            return Behavior.valueOf(b);
        } catch (IllegalArgumentException e) {
            throw where.at("behavior").unsupported(b, List.of("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"));
        }
    }

    /** {@code prepend_scheme} (first / always / never), or the older {@code add_prefix_space} (true: always). */
    private static String metaspaceScheme(Where where, JsonNode n) {
        if (n.hasNonNull("prepend_scheme")) {
            String s = where.text(n, "prepend_scheme", null);
            if (!List.of("first", "always", "never").contains(s)) throw where.at("prepend_scheme").unsupported(s, List.of("first", "always", "never"));
            return s;
        }
        return where.bool(n, "add_prefix_space", true) ? "always" : "never";
    }

    /** Rust's {@code is_ascii_punctuation || is_punctuation} (Unicode P categories). */
    static boolean isPunctuation(int cp) {
        if (cp < 128) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /**
     * Hugging Face's {@code NormalizedString::split}: the text is cut into matches and the stretches between them,
     * (with {@code invert}, the stretches are the delimiters), then arranged as {@code behavior} says; empty pieces
     * are dropped.
     */
    static void split(Piece piece, Pattern pattern, Behavior behavior, boolean invert, List<Piece> out) {
        String s = piece.text();
        if (s.isEmpty()) return;
        // (start, end, isMatch) triples covering s
        List<int[]> parts = new ArrayList<>();
        Matcher m = pattern.matcher(s);
        int prev = 0;
        while (m.find()) {
            if (prev != m.start()) parts.add(new int[]{prev, m.start(), invert ? 1 : 0});
            parts.add(new int[]{m.start(), m.end(), invert ? 0 : 1});
            prev = m.end();
        }
        if (prev != s.length()) parts.add(new int[]{prev, s.length(), invert ? 1 : 0});
        arrange(piece, parts, behavior, out);
    }

    /** Splits on single characters for which {@code delimiter} holds (Punctuation, Digits). */
    private static void splitChars(Piece piece, java.util.function.IntPredicate delimiter, Behavior behavior, List<Piece> out) {
        String s = piece.text();
        if (s.isEmpty()) return;
        List<int[]> parts = new ArrayList<>();
        int prev = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i), next = i + Character.charCount(cp);
            if (delimiter.test(cp)) {
                if (prev != i) parts.add(new int[]{prev, i, 0});
                parts.add(new int[]{i, next, 1});
                prev = next;
            }
            i = next;
        }
        if (prev != s.length()) parts.add(new int[]{prev, s.length(), 0});
        arrange(piece, parts, behavior, out);
    }

    private static void arrange(Piece piece, List<int[]> parts, Behavior behavior, List<Piece> out) {
        List<int[]> spans = new ArrayList<>(parts.size());   // start, end, remove
        boolean previousMatch = false;
        switch (behavior) {
            case Isolated -> parts.forEach(p -> spans.add(new int[]{p[0], p[1], 0}));
            case Removed -> parts.forEach(p -> spans.add(new int[]{p[0], p[1], p[2]}));
            case Contiguous -> {
                for (int[] p : parts) {
                    boolean match = p[2] == 1;
                    if (match == previousMatch && !spans.isEmpty()) spans.get(spans.size() - 1)[1] = p[1];
                    else spans.add(new int[]{p[0], p[1], 0});
                    previousMatch = match;
                }
            }
            case MergedWithPrevious -> {
                for (int[] p : parts) {
                    boolean match = p[2] == 1;
                    if (match && !previousMatch && !spans.isEmpty()) spans.get(spans.size() - 1)[1] = p[1];
                    else spans.add(new int[]{p[0], p[1], 0});
                    previousMatch = match;
                }
            }
            case MergedWithNext -> {
                for (int i = parts.size() - 1; i >= 0; i--) {
                    int[] p = parts.get(i);
                    boolean match = p[2] == 1;
                    if (match && !previousMatch && !spans.isEmpty()) spans.get(spans.size() - 1)[0] = p[0];
                    else spans.add(new int[]{p[0], p[1], 0});
                    previousMatch = match;
                }
                java.util.Collections.reverse(spans);
            }
        }
        String s = piece.text();
        for (int[] sp : spans) {
            if (sp[2] == 1 || sp[0] == sp[1]) continue;
            out.add(new Piece(s.substring(sp[0], sp[1]), piece.atStart() && sp[0] == 0));
        }
    }
}
