package io.peft4j.core.tokenizer.hf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code added_tokens} of a {@code tokenizer.json}: found in the text before anything else and never split.
 * Tokens with {@code normalized: false} are matched in the raw text, the others in the normalized stretches between
 * them; at each position the longest token wins, the leftmost match first (Hugging Face's leftmost-longest
 * Aho-Corasick). {@code single_word} tokens match only outside words; {@code lstrip} / {@code rstrip} tokens take the
 * white space before / after them.
 */
final class AddedVocabulary {
    /** One added token as {@code tokenizer.json} describes it. */
    record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized) {
    }

    /** A stretch of text, or an added token ({@code id >= 0}); {@code atStart} when it begins the input. */
    record Segment(String text, int id, boolean atStart) {
    }

    private final Trie raw, normalized;

    /** {@code normalizer} gives the form a {@code normalized: true} token is matched in (null: none). */
    AddedVocabulary(List<AddedToken> tokens, Normalizer normalizer) {
        List<AddedToken> r = new ArrayList<>(), n = new ArrayList<>();
        List<String> rp = new ArrayList<>(), np = new ArrayList<>();
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) continue;
            if (t.normalized()) {
                String p = normalizer == null ? t.content() : normalizer.normalize(t.content());
                if (p.isEmpty()) continue;
                n.add(t);
                np.add(p);
            } else {
                r.add(t);
                rp.add(t.content());
            }
        }
        raw = r.isEmpty() ? null : new Trie(r, rp);
        normalized = n.isEmpty() ? null : new Trie(n, np);
    }

    /** Splits raw text on the {@code normalized: false} tokens. */
    void splitRaw(String text, boolean atStart, List<Segment> out) {
        split(raw, text, atStart, out);
    }

    /** Splits normalized text on the {@code normalized: true} tokens. */
    void splitNormalized(String text, boolean atStart, List<Segment> out) {
        split(normalized, text, atStart, out);
    }

    private static void split(Trie trie, String s, boolean atStart, List<Segment> out) {
        if (trie == null || s.isEmpty()) {
            out.add(new Segment(s, -1, atStart));
            return;
        }
        int startOffset = 0;
        int i = 0;
        while (i < s.length()) {
            int m = trie.longestAt(s, i);
            if (m < 0) {
                i++;
                continue;
            }
            AddedToken t = trie.tokens.get(m);
            int start = i, stop = i + trie.patterns.get(m).length();
            i = stop;
            if (t.singleWord() && (start > 0 && isWordChar(s.codePointBefore(start)) || stop < s.length() && isWordChar(s.codePointAt(stop)))) continue;
            if (t.lstrip()) {
                int ns = start;
                while (ns > 0 && Normalizer.isUnicodeSpace(s.codePointBefore(ns))) ns -= Character.charCount(s.codePointBefore(ns));
                start = Math.max(ns, startOffset);
            }
            if (t.rstrip()) {
                while (stop < s.length() && Normalizer.isUnicodeSpace(s.codePointAt(stop))) stop += Character.charCount(s.codePointAt(stop));
            }
            if (startOffset < start) out.add(new Segment(s.substring(startOffset, start), -1, atStart && startOffset == 0));
            out.add(new Segment(s.substring(start, stop), t.id(), atStart && start == 0));
            startOffset = stop;
            i = Math.max(i, stop);
        }
        if (startOffset < s.length()) out.add(new Segment(s.substring(startOffset), -1, atStart && startOffset == 0));
    }

    /** Rust regex's {@code \w}: alphanumeric, marks, connector punctuation. */
    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_' || Normalizer.isMark(cp) || Character.getType(cp) == Character.CONNECTOR_PUNCTUATION;
    }

    /** A character trie of the token strings, answering the longest token starting at a position. */
    private static final class Trie {
        final List<AddedToken> tokens;
        final List<String> patterns;
        private final Node root = new Node();
        private final java.util.BitSet first = new java.util.BitSet(0x10000);

        Trie(List<AddedToken> tokens, List<String> patterns) {
            this.tokens = tokens;
            this.patterns = patterns;
            for (int k = 0; k < patterns.size(); k++) {
                String p = patterns.get(k);
                first.set(p.charAt(0));
                Node n = root;
                for (int i = 0; i < p.length(); i++) n = n.next.computeIfAbsent(p.charAt(i), c -> new Node());
                if (n.token < 0) n.token = k;   // the same string twice: the first entry wins
            }
        }

        int longestAt(String s, int i) {
            if (!first.get(s.charAt(i))) return -1;
            Node n = root;
            int best = -1;
            for (int j = i; j < s.length(); j++) {
                n = n.next.get(s.charAt(j));
                if (n == null) break;
                if (n.token >= 0) best = n.token;
            }
            return best;
        }

        private static final class Node {
            final Map<Character, Node> next = new HashMap<>(4);
            int token = -1;
        }
    }
}
