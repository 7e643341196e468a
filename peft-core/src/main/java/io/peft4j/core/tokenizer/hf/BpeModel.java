package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hugging Face's BPE model: a piece's characters (with {@code continuing_subword_prefix} / {@code end_of_word_suffix})
 * become vocabulary symbols, characters missing from the vocabulary become their UTF-8 bytes as {@code <0xXX>} tokens
 * ({@code byte_fallback}) or the unknown token ({@code unk_token}, fused with {@code fuse_unk}), then adjacent pairs are
 * merged lowest merge rank first, leftmost first among equal ranks. With {@code ignore_merges} (Llama 3) a piece that
 * is itself in the vocabulary is one token.
 */
final class BpeModel {
    private static final int[] EMPTY = new int[0];
    /** Pieces shorter than this are cached, at most {@link #CACHE_SIZE} of them (as Hugging Face's BPE cache). */
    private static final int CACHE_MAX_LENGTH = 256, CACHE_SIZE = 10_000;

    final Map<String, Integer> vocab;
    private final LongLongMap merges;
    private final int unk;
    private final boolean fuseUnk, ignoreMerges;
    private final int[] byteIds;
    private final String prefix, suffix;
    /** Ids of the one-character tokens by character (BMP), -1 where absent; used when there is no prefix or suffix. */
    private final int[] charIds;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeModel(Map<String, Integer> vocab, LongLongMap merges, int unk, boolean fuseUnk, boolean ignoreMerges, int[] byteIds, String prefix, String suffix) {
        this.vocab = vocab;
        this.merges = merges;
        this.unk = unk;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.byteIds = byteIds;
        this.prefix = prefix;
        this.suffix = suffix;
        if (prefix == null && suffix == null) {
            charIds = new int[0x10000];
            Arrays.fill(charIds, -1);
            vocab.forEach((t, id) -> {
                if (t.length() == 1) charIds[t.charAt(0)] = id;
            });
        } else {
            charIds = null;
        }
    }

    /**
     * Builds a {@code "type": "BPE"} model from its fields {@code n} at {@code where} and the vocabulary and merges
     * {@code tj} read: each merge's two symbols and their concatenation in the vocabulary, the unknown token in the
     * vocabulary, and with {@code byte_fallback} all 256 {@code <0xXX>} tokens present.
     */
    static BpeModel parse(Where where, JsonNode n, TokenizerJson tj) {
        Map<String, Integer> vocab = tj.vocab();
        if (vocab == null) throw where.at("vocab").fail("vocabulary must be a JSON object of token to id, not " + Where.kind(n.get("vocab")));
        if (tj.mergeA() == null) throw where.at("merges").fail("must be an array, not " + Where.kind(n.get("merges")));
        JsonNode dropout = n.get("dropout");
        if (dropout != null && !dropout.isNull() && !(dropout.isNumber() && dropout.asDouble() == 0)) {
            throw where.at("dropout").fail("BPE dropout (random merges at encoding time) is not supported: " + dropout + " (use null)");
        }
        String prefix = where.optionalText(n, "continuing_subword_prefix"), suffix = where.optionalText(n, "end_of_word_suffix");
        if (prefix != null && prefix.isEmpty()) prefix = null;
        if (suffix != null && suffix.isEmpty()) suffix = null;
        String unkToken = where.optionalText(n, "unk_token");
        int unk = -1;
        if (unkToken != null) {
            Integer id = vocab.get(unkToken);
            if (id == null) throw where.at("unk_token").fail("'" + unkToken + "' is not in model.vocab");
            unk = id;
        }
        int[] byteIds = null;
        if (where.bool(n, "byte_fallback", false)) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) {
                String t = String.format("<0x%02X>", b);
                Integer id = vocab.get(t);
                if (id == null) throw where.at("vocab").fail("byte_fallback needs all 256 byte tokens <0x00>..<0xFF>, but '" + t + "' is missing");
                byteIds[b] = id;
            }
        }
        String[] as = tj.mergeA(), bs = tj.mergeB();
        LongLongMap merges = new LongLongMap(as.length);
        for (int i = 0; i < as.length; i++) {
            String a = as[i], b = bs[i];
            String merged = a + (prefix != null && b.startsWith(prefix) ? b.substring(prefix.length()) : b);
            Integer ia = vocab.get(a), ib = vocab.get(b), im = vocab.get(merged);
            if (ia == null || ib == null || im == null) {
                String missing = ia == null ? a : ib == null ? b : merged;
                throw new Where(where.file(), where.path() + ".merges[" + i + "] (merge " + (i + 1) + ")").fail("'" + a + " " + b + "': '" + missing + "' is not in model.vocab");
            }
            merges.put(pair(ia, ib), ((long) i << 32) | im);   // a repeated pair keeps its last rank, as Hugging Face's map does
        }
        return new BpeModel(vocab, merges, unk, where.bool(n, "fuse_unk", false), where.bool(n, "ignore_merges", false), byteIds, prefix, suffix);
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    /** The ids of one pre-tokenized piece. */
    int[] tokenize(String w) {
        if (w.isEmpty()) return EMPTY;
        if (ignoreMerges) {
            Integer id = vocab.get(w);
            if (id != null) return new int[]{id};
        }
        if (w.length() >= CACHE_MAX_LENGTH) return mergeWord(w);
        int[] hit = cache.get(w);
        if (hit != null) return hit;
        int[] ids = mergeWord(w);
        if (cache.size() < CACHE_SIZE) cache.put(w, ids);
        return ids;
    }

    private int[] mergeWord(String w) {
        int[] c = new int[w.length() + 4];
        int n = 0;
        int pendingUnk = -1;   // an unknown token waiting to be added (fuse_unk joins a run of them)
        for (int i = 0; i < w.length(); ) {
            int cp = w.codePointAt(i), end = i + Character.charCount(cp);
            int id = -1;
            if (charIds != null) {
                if (cp < 0x10000) id = charIds[cp];
                else {
                    Integer x = vocab.get(w.substring(i, end));
                    if (x != null) id = x;
                }
            } else {
                String s = w.substring(i, end);
                if (i > 0 && prefix != null) s = prefix + s;
                if (end == w.length() && suffix != null) s = s + suffix;
                Integer x = vocab.get(s);
                if (x != null) id = x;
            }
            if (n + 8 > c.length) c = Arrays.copyOf(c, c.length * 2 + 8);
            if (id >= 0) {
                if (pendingUnk >= 0) {
                    c[n++] = pendingUnk;
                    pendingUnk = -1;
                }
                c[n++] = id;
            } else if (byteIds != null) {
                String s = w.substring(i, end);
                if (i > 0 && prefix != null) s = prefix + s;
                if (end == w.length() && suffix != null) s = s + suffix;
                byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                if (n + bytes.length + 1 > c.length) c = Arrays.copyOf(c, (n + bytes.length) * 2 + 8);
                for (byte b : bytes) c[n++] = byteIds[b & 0xff];
            } else if (unk >= 0) {
                if (pendingUnk >= 0 && !fuseUnk) c[n++] = pendingUnk;
                pendingUnk = unk;
            }
            i = end;
        }
        if (pendingUnk >= 0) c[n++] = pendingUnk;
        return merge(c, n);
    }

    /** Applies the merges to symbols {@code c[0..n)}: a heap of (rank, position), stale entries skipped, as Hugging Face's {@code Word::merge_all}. */
    private int[] merge(int[] c, int n) {
        if (n < 2) return Arrays.copyOf(c, n);
        int[] prev = new int[n], next = new int[n];
        boolean[] dead = new boolean[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                long m = merges.get(pair(c[i], c[i + 1]));
                if (m != LongLongMap.MISSING) heap.add((m & 0xffffffff00000000L) | i);
            }
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.poll();
            int pos = (int) top;
            long rank = top >>> 32;
            if (dead[pos] || next[pos] < 0) continue;
            int right = next[pos];
            long m = merges.get(pair(c[pos], c[right]));
            if (m == LongLongMap.MISSING || (m >>> 32) != rank) continue;   // stale: the pair changed since it was queued
            c[pos] = (int) m;
            dead[right] = true;
            alive--;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) {
                long l = merges.get(pair(c[prev[pos]], c[pos]));
                if (l != LongLongMap.MISSING) heap.add((l & 0xffffffff00000000L) | prev[pos]);
            }
            if (next[pos] >= 0) {
                long r = merges.get(pair(c[pos], c[next[pos]]));
                if (r != LongLongMap.MISSING) heap.add((r & 0xffffffff00000000L) | pos);
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0 && k < alive; i = next[i]) out[k++] = c[i];
        return out;
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long v) {
            if (size == a.length) a = Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) break;
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long poll() {
            long top = a[0], last = a[--size];
            int i = 0;
            while (true) {
                int l = 2 * i + 1;
                if (l >= size) break;
                int s = l + 1 < size && a[l + 1] < a[l] ? l + 1 : l;
                if (a[s] >= last) break;
                a[i] = a[s];
                i = s;
            }
            a[i] = last;
            return top;
        }
    }
}
