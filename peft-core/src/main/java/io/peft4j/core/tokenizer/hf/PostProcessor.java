package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * A {@code tokenizer.json} post-processor: adds the special tokens around one sequence or a pair and sets the
 * segment (type) ids. Supported types: {@value #TYPES}. {@code ByteLevel} only trims offsets in Hugging Face's
 * library, so it adds nothing here.
 */
interface PostProcessor {
    String TYPES = "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence";

    /** Ids and type ids: {@code a} (and {@code b} when not null) with the special tokens added. */
    record Ids(int[] ids, int[] typeIds) {
    }

    Ids apply(int[] a, int[] b);

    /** Without a post-processor: the sequences joined, type id 0 for {@code a} and 1 for {@code b}. */
    PostProcessor NONE = PostProcessor::join;

    static Ids join(int[] a, int[] b) {
        int n = a.length + (b == null ? 0 : b.length);
        int[] ids = new int[n], types = new int[n];
        System.arraycopy(a, 0, ids, 0, a.length);
        if (b != null) {
            System.arraycopy(b, 0, ids, a.length, b.length);
            java.util.Arrays.fill(types, a.length, n, 1);
        }
        return new Ids(ids, types);
    }

    /** Reads the post-processor object {@code n} (not null) at {@code where}; {@code known} tells which ids exist. */
    static PostProcessor parse(Where where, JsonNode n, IntPredicate known) {
        where.object(n);
        String type = where.text(n, "type", null);
        return switch (type) {
            case "ByteLevel" -> NONE;
            case "Sequence" -> {
                JsonNode list = where.array(n, "processors");
                List<PostProcessor> parts = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    PostProcessor p = parse(where.at("processors").at(i), list.get(i), known);
                    if (p != NONE) parts.add(p);
                }
                if (parts.isEmpty()) yield NONE;
                if (parts.size() > 1) throw where.at("processors").fail("more than one processor that adds special tokens is not supported");
                yield parts.get(0);
            }
            case "BertProcessing", "RobertaProcessing" -> {
                int cls = tokenPair(where.at("cls"), n.get("cls"), known), sep = tokenPair(where.at("sep"), n.get("sep"), known);
                boolean bert = type.equals("BertProcessing");
                yield (a, b) -> {
                    List<int[]> parts = new ArrayList<>();   // id, type id
                    parts.add(new int[]{cls, 0});
                    for (int x : a) parts.add(new int[]{x, 0});
                    parts.add(new int[]{sep, 0});
                    if (b != null) {
                        int t = bert ? 1 : 0;
                        if (!bert) parts.add(new int[]{sep, 0});
                        for (int x : b) parts.add(new int[]{x, t});
                        parts.add(new int[]{sep, t});
                    }
                    return ids(parts);
                };
            }
            case "TemplateProcessing" -> template(where, n, known);
            default -> throw where.at("type").unsupported(type, List.of(TYPES.split(", ")));
        };
    }

    private static Ids ids(List<int[]> parts) {
        int[] ids = new int[parts.size()], types = new int[parts.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = parts.get(i)[0];
            types[i] = parts.get(i)[1];
        }
        return new Ids(ids, types);
    }

    /** {@code ["[CLS]", 101]}: the id, which must exist. */
    private static int tokenPair(Where where, JsonNode n, IntPredicate known) {
        if (n == null || !n.isArray() || n.size() != 2 || !n.get(0).isTextual() || !n.get(1).canConvertToInt() || !n.get(1).isIntegralNumber()) {
            throw where.fail("must be [token, id], not " + Where.kind(n));
        }
        int id = n.get(1).asInt();
        if (!known.test(id)) throw where.fail("id " + id + " of '" + n.get(0).asText() + "' is not a token id of this tokenizer");
        return id;
    }

    /** One element of a template: a special token's ids, or sequence A (0) / B (1), with its type id. */
    record Piece(int[] special, int sequence, int typeId) {
    }

    private static PostProcessor template(Where where, JsonNode n, IntPredicate known) {
        Map<String, int[]> specials = new HashMap<>();
        JsonNode st = n.get("special_tokens");
        if (st != null && !st.isNull()) {
            Where sw = where.at("special_tokens");
            sw.object(st);
            for (var it = st.fields(); it.hasNext(); ) {
                var e = it.next();
                Where ew = sw.at(e.getKey());
                JsonNode ids = ew.array(ew.object(e.getValue()), "ids");
                int[] out = new int[ids.size()];
                for (int i = 0; i < out.length; i++) {
                    JsonNode x = ids.get(i);
                    if (!x.isIntegralNumber() || !x.canConvertToInt() || !known.test(x.asInt())) {
                        throw ew.at("ids").at(i).fail(x + " is not a token id of this tokenizer");
                    }
                    out[i] = x.asInt();
                }
                specials.put(e.getKey(), out);
            }
        }
        List<Piece> single = pieces(where.at("single"), n.get("single"), specials, false);
        List<Piece> pair = n.hasNonNull("pair") ? pieces(where.at("pair"), n.get("pair"), specials, true) : null;
        return (a, b) -> {
            List<Piece> t = b == null ? single : pair;
            if (t == null) t = pieces(where.at("pair"), null, specials, true);   // fails: no pair template
            List<int[]> parts = new ArrayList<>();
            for (Piece p : t) {
                if (p.special() != null) for (int x : p.special()) parts.add(new int[]{x, p.typeId()});
                else for (int x : p.sequence() == 0 ? a : b) parts.add(new int[]{x, p.typeId()});
            }
            return ids(parts);
        };
    }

    /** A template as a list of {@code {"SpecialToken": {...}}} / {@code {"Sequence": {...}}}, or the string form {@code "[CLS]:0 $A:0 [SEP]:0"}. */
    private static List<Piece> pieces(Where where, JsonNode n, Map<String, int[]> specials, boolean pair) {
        List<Piece> out = new ArrayList<>();
        if (n != null && n.isTextual()) {
            for (String w : n.asText().trim().split("\\s+")) {
                if (w.isEmpty()) continue;
                int colon = w.lastIndexOf(':');
                int type = 0;
                String name = w;
                if (colon > 0 && w.substring(colon + 1).matches("\\d{1,3}")) {
                    type = Integer.parseInt(w.substring(colon + 1));
                    name = w.substring(0, colon);
                }
                out.add(piece(where, name.startsWith("$") ? null : name, name.startsWith("$") ? name.substring(1) : null, type, specials));
            }
        } else if (n != null && n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                Where pw = where.at(i);
                JsonNode x = pw.object(n.get(i));
                if (x.has("SpecialToken")) {
                    JsonNode s = pw.at("SpecialToken").object(x.get("SpecialToken"));
                    out.add(piece(pw.at("SpecialToken"), pw.at("SpecialToken").text(s, "id", null), null, pw.at("SpecialToken").integer(s, "type_id", 0, 0, 255), specials));
                } else if (x.has("Sequence")) {
                    JsonNode s = pw.at("Sequence").object(x.get("Sequence"));
                    out.add(piece(pw.at("Sequence"), null, pw.at("Sequence").text(s, "id", null), pw.at("Sequence").integer(s, "type_id", 0, 0, 255), specials));
                } else {
                    throw pw.fail("must hold 'SpecialToken' or 'Sequence', not " + x);
                }
            }
        } else {
            throw where.fail("must be a template (a list of SpecialToken / Sequence), not " + Where.kind(n));
        }
        boolean hasA = out.stream().anyMatch(p -> p.special() == null && p.sequence() == 0), hasB = out.stream().anyMatch(p -> p.special() == null && p.sequence() == 1);
        if (!hasA || pair != hasB) throw where.fail(pair ? "a pair template must use sequences A and B" : "a single template must use sequence A (and not B)");
        return out;
    }

    private static Piece piece(Where where, String special, String sequence, int type, Map<String, int[]> specials) {
        if (special != null) {
            int[] ids = specials.get(special);
            if (ids == null) throw where.fail("special token '" + special + "' is not in post_processor.special_tokens");
            return new Piece(ids, -1, type);
        }
        return switch (sequence) {
            case "A", "" -> new Piece(null, 0, type);
            case "B" -> new Piece(null, 1, type);
            default -> throw where.fail("sequence id '" + sequence + "' (A or B)");
        };
    }
}
