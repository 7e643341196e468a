package io.peft4j.fuzz;

import com.fasterxml.jackson.databind.node.TextNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Seeded mutations of one file: generic byte-level ones for every file, and structure-aware ones for
 * safetensors ({@link SafetensorsMutations}), JSON ({@link JsonMutations}), TensorFlow indexes ({@link TfMutations})
 * and line-based text (here), which reach past the first parse where blind flips rarely do. A {@link Mutation}
 * describes exactly what it changed; where the result is certainly invalid (a safetensors file that breaks the
 * format's rules, a TF entry whose bytes cannot hold its shape), it says so, and loading it successfully is a failure.
 */
final class Mutators {
    /** The mutated bytes, what was done, and whether the result is invalid for certain. */
    record Mutation(byte[] bytes, String description, boolean mustReject) {
    }

    static final long[] LONGS = {0, 1, -1, 2, 1L << 31, (1L << 31) - 1, 1L << 32, (1L << 62) + 1, Long.MAX_VALUE, Long.MIN_VALUE,
            (1L << 63) - (1L << 33) + 1, 1L << 33, 67_108_863, 16_777_216};
    static final byte[][] BAD_UTF8 = {{(byte) 0xff}, {(byte) 0xfe}, {(byte) 0xc3}, {(byte) 0x80}, {(byte) 0xc0, (byte) 0xaf},
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}};

    private Mutators() {
    }

    /**
     * Mutates {@code bytes}, the content of {@code target} (a path relative to the kind's directory); {@code seedFile} is the
     * unmutated file on disk. One structure-aware or generic mutation, sometimes followed by a generic one.
     */
    static Mutation mutate(String target, byte[] bytes, Path seedFile, Random rng) {
        String name = Path.of(target).getFileName().toString();
        Mutation m = null;
        boolean structured = rng.nextDouble() < 0.65;
        try {
            if (structured && name.endsWith(".safetensors")) m = SafetensorsMutations.mutate(bytes, rng);
            else if (structured && name.endsWith(".json")) m = JsonMutations.mutate(bytes, rng);
            else if (structured && name.endsWith(".index")) m = TfMutations.mutate(seedFile, rng);
            else if (structured && (name.endsWith(".txt") || name.endsWith(".csv") || name.endsWith(".tsv"))) m = text(bytes, rng);
            else if (structured && name.endsWith(".jsonl")) m = rng.nextBoolean() ? text(bytes, rng) : JsonMutations.mutateLine(bytes, rng);
        } catch (Exception e) {
            m = null;       // not parseable as its structure: mutate the bytes instead
        }
        if (m == null) m = generic(bytes, rng);
        if (rng.nextDouble() < 0.1) {
            Mutation second = generic(m.bytes(), rng);
            m = new Mutation(second.bytes(), m.description() + ", then " + second.description(), false);
        }
        if (name.endsWith(".safetensors")) {
            String invalid = SafetensorsMutations.fault(m.bytes());
            m = new Mutation(m.bytes(), m.description() + (invalid == null ? "" : " [invalid: " + invalid + "]"), invalid != null || m.mustReject());
        }
        return m;
    }

    // ------------------------------------------------------------------ generic

    static Mutation generic(byte[] b, Random rng) {
        int n = b.length;
        int op = n == 0 ? 4 : rng.nextInt(9);
        switch (op) {
            case 0 -> {
                byte[] out = b.clone();
                int k = 1 + rng.nextInt(8);
                List<String> at = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    int p = rng.nextInt(n), bit = rng.nextInt(8);
                    out[p] ^= (byte) (1 << bit);
                    at.add(p + "." + bit);
                }
                return new Mutation(out, "bit flips at byte.bit " + at, false);
            }
            case 1 -> {
                byte[] out = b.clone();
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(16));
                for (int i = 0; i < len; i++) out[p + i] = (byte) rng.nextInt(256);
                return new Mutation(out, len + " random bytes at " + p, false);
            }
            case 2 -> {
                byte[] out = b.clone();
                byte[] vals = {0, (byte) 0xff, 0x7f, (byte) 0x80, '"', '{', '}', '\n', ' ', '-', '9'};
                List<String> at = new ArrayList<>();
                for (int i = 0, k = 1 + rng.nextInt(4); i < k; i++) {
                    int p = rng.nextInt(n);
                    out[p] = vals[rng.nextInt(vals.length)];
                    at.add(p + "=0x" + Integer.toHexString(out[p] & 0xff));
                }
                return new Mutation(out, "bytes set " + at, false);
            }
            case 3 -> {
                int[] points = {0, 1, 7, 8, 9, n / 2, n - 1, Math.max(0, n - 4), rng.nextInt(n)};
                int p = Math.min(n, Math.max(0, points[rng.nextInt(points.length)]));
                return new Mutation(Arrays.copyOf(b, p), "truncated to " + p + " of " + n + " bytes", false);
            }
            case 4 -> {
                byte[] extra;
                String what;
                switch (rng.nextInt(3)) {
                    case 0 -> {
                        extra = new byte[1 + rng.nextInt(64)];
                        rng.nextBytes(extra);
                        what = extra.length + " random bytes";
                    }
                    case 1 -> {
                        extra = "\n}garbage{\"x\": 1}\n".getBytes(StandardCharsets.UTF_8);
                        what = "text garbage";
                    }
                    default -> {
                        extra = b.clone();
                        what = "a copy of the file";
                    }
                }
                return new Mutation(concat(b, extra), "appended " + what, false);
            }
            case 5 -> {
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(64));
                return new Mutation(concat(Arrays.copyOf(b, p), Arrays.copyOfRange(b, p + len, n)), "deleted bytes " + p + ".." + (p + len), false);
            }
            case 6 -> {
                int p = rng.nextInt(n), len = Math.min(n - p, 1 + rng.nextInt(64));
                return new Mutation(concat(Arrays.copyOf(b, p + len), Arrays.copyOfRange(b, p, n)), "duplicated bytes " + p + ".." + (p + len), false);
            }
            case 7 -> {
                byte[] bad = BAD_UTF8[rng.nextInt(BAD_UTF8.length)];
                int p = rng.nextInt(n + 1);
                return new Mutation(concat(Arrays.copyOf(b, p), bad, Arrays.copyOfRange(b, p, n)), "invalid UTF-8 " + hex(bad) + " inserted at " + p, false);
            }
            default -> {
                byte[] out = b.clone();
                int from = rng.nextInt(n), to = rng.nextInt(n), len = Math.min(Math.min(n - from, n - to), 1 + rng.nextInt(32));
                System.arraycopy(b, from, out, to, len);
                return new Mutation(out, "copied bytes " + from + ".." + (from + len) + " over " + to, false);
            }
        }
    }

    // ------------------------------------------------------------------ text lines

    static Mutation text(byte[] bytes, Random rng) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>(Arrays.asList(s.split("\n", -1)));
        int n = lines.size();
        int i = rng.nextDouble() < 0.3 ? rng.nextInt(Math.min(n, 6)) : rng.nextInt(n);
        String what;
        switch (rng.nextInt(12)) {
            case 0 -> {
                lines.add(rng.nextInt(n + 1), lines.get(i));
                what = "duplicated line " + (i + 1);
            }
            case 1 -> {
                lines.remove(i);
                what = "deleted line " + (i + 1);
            }
            case 2 -> {
                String l = lines.get(i);
                String g = pick(new String[]{"a b c", "x", " " + l, l + " ", "", "   ", l.replace(' ', '\t'), "\u0000", l + " " + l, "ab",
                        "\"" + l, l + ",extra", l + "\textra", l.replace(",", ""), l.replace("\t", ""), l.replace("\"", "")}, rng);
                lines.set(i, g);
                what = "line " + (i + 1) + " -> " + TextNode.valueOf(g);
            }
            case 3 -> {
                int j = rng.nextInt(n);
                String t = lines.get(i);
                lines.set(i, lines.get(j));
                lines.set(j, t);
                what = "swapped lines " + (i + 1) + " and " + (j + 1);
            }
            case 4 -> {
                return new Mutation(new byte[0], "emptied the file", false);
            }
            case 5 -> {
                lines.add(i, "");
                lines.add(i, "");
                what = "inserted two blank lines at " + (i + 1);
            }
            case 6 -> {
                lines.set(i, "ab".repeat(50_000));
                what = "line " + (i + 1) + " -> 100,000 chars";
            }
            case 7 -> {
                return new Mutation(String.join("\r\n", lines).getBytes(StandardCharsets.UTF_8), "CRLF line ends", false);
            }
            case 8 -> {
                return new Mutation(concat(new byte[]{(byte) 0xef, (byte) 0xbb, (byte) 0xbf}, bytes), "UTF-8 byte-order mark added", false);
            }
            case 9 -> {
                String t = pick(new String[]{"[UNK]", "[PAD]", "<|endoftext|>", "#version: 0.2", "##", "Ġ Ġ", "Ġ"}, rng);
                lines.set(i, t);
                what = "line " + (i + 1) + " -> " + t;
            }
            case 10 -> {
                int k = rng.nextInt(n);
                lines = lines.subList(0, k);
                what = "kept the first " + k + " lines";
            }
            default -> {
                String l = lines.get(i);
                int p = l.isEmpty() ? 0 : rng.nextInt(l.length());
                String c = pick(new String[]{"\u0000", "\u0007", "\u200b", "\ufffd", "\u00ad"}, rng);
                lines.set(i, l.substring(0, p) + c + l.substring(p));
                what = "inserted U+" + String.format("%04X", (int) c.charAt(0)) + " into line " + (i + 1);
            }
        }
        return new Mutation(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), what, false);
    }

    // ------------------------------------------------------------------ helpers

    static <T> T pick(List<T> l, Random rng) {
        return l.get(rng.nextInt(l.size()));
    }

    static <T> T pick(T[] a, Random rng) {
        return a[rng.nextInt(a.length)];
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
