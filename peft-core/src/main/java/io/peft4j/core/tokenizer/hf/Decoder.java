package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code tokenizer.json} decoder: turns the token strings of some ids back into text, each step rewriting the
 * list of strings, which are then concatenated. Supported types: {@value #TYPES}.
 */
@FunctionalInterface
interface Decoder {
    String TYPES = "Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, WordPiece";

    List<String> decode(List<String> tokens);

    /** Reads the decoder object {@code n} (not null) at {@code where}. */
    static Decoder parse(Where where, JsonNode n) {
        where.object(n);
        String type = where.text(n, "type", null);
        return switch (type) {
            case "Sequence" -> {
                JsonNode list = where.array(n, "decoders");
                List<Decoder> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) parts.add(parse(where.at("decoders").at(i), list.get(i)));
                yield tokens -> {
                    for (Decoder d : parts) tokens = d.decode(tokens);
                    return tokens;
                };
            }
            case "ByteLevel" -> tokens -> List.of(ByteLevel.decode(tokens));
            case "Metaspace" -> {
                int rep = where.character(n, "replacement", "\u2581");
                boolean never = n.hasNonNull("prepend_scheme") ? "never".equals(where.text(n, "prepend_scheme", null))
                        : !where.bool(n, "add_prefix_space", true);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        StringBuilder sb = new StringBuilder();
                        boolean first = i == 0;
                        tokens.get(i).codePoints().forEach(cp -> {
                            if (cp != rep) sb.appendCodePoint(cp);
                            else if (!first || never) sb.append(' ');   // Hugging Face drops every replacement in the first token
                        });
                        out.add(sb.toString());
                    }
                    return out;
                };
            }
            case "Replace" -> {
                Pattern p = Patterns.parse(where.at("pattern"), n.get("pattern"));
                String content = Matcher.quoteReplacement(where.text(n, "content", null));
                yield tokens -> tokens.stream().map(t -> p.matcher(t).replaceAll(content)).toList();
            }
            case "ByteFallback" -> Decoder::byteFallback;
            case "Fuse" -> tokens -> List.of(String.join("", tokens));
            case "Strip" -> {
                int content = where.character(n, "content", " ");
                int start = where.integer(n, "start", 0, 0, Integer.MAX_VALUE), stop = where.integer(n, "stop", 0, 0, Integer.MAX_VALUE);
                yield tokens -> tokens.stream().map(t -> strip(t, content, start, stop)).toList();
            }
            case "BPEDecoder" -> {
                String suffix = where.text(n, "suffix", "</w>");
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) out.add(tokens.get(i).replace(suffix, i == tokens.size() - 1 ? "" : " "));
                    return out;
                };
            }
            case "WordPiece" -> {
                String prefix = where.text(n, "prefix", "##");
                boolean cleanup = where.bool(n, "cleanup", true);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        String t = tokens.get(i);
                        if (i != 0) t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                        if (cleanup) t = t.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                                .replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't").replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
                        out.add(t);
                    }
                    return out;
                };
            }
            default -> throw where.at("type").unsupported(type, List.of(TYPES.split(", ")));
        };
    }

    /** Runs of {@code <0xXX>} tokens become the text their bytes encode; bytes that are not valid UTF-8 become one U+FFFD each. */
    static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        java.io.ByteArrayOutputStream run = new java.io.ByteArrayOutputStream();
        for (String t : tokens) {
            int b = byteToken(t);
            if (b >= 0) {
                run.write(b);
                continue;
            }
            flush(run, out);
            out.add(t);
        }
        flush(run, out);
        return out;
    }

    private static int byteToken(String t) {
        if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
        int hi = Character.digit(t.charAt(3), 16), lo = Character.digit(t.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    private static void flush(java.io.ByteArrayOutputStream run, List<String> out) {
        if (run.size() == 0) return;
        byte[] bytes = run.toByteArray();
        run.reset();
        try {
            out.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString());
        } catch (CharacterCodingException e) {
            for (int i = 0; i < bytes.length; i++) out.add("\uFFFD");
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters. */
    private static String strip(String t, int content, int start, int stop) {
        int[] cps = t.codePoints().toArray();
        int a = 0, b = cps.length;
        while (a < start && a < cps.length && cps[a] == content) a++;
        int cut = 0;
        while (cut < stop && b > a && cps[b - 1] == content) {
            b--;
            cut++;
        }
        return new String(cps, a, b - a);
    }
}
