package io.peft4j.prompt.template;

import io.peft4j.core.data.Truncation;
import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A {@link Template} bound to a tokenizer, an answer mode and a length limit: renders records into model
 * inputs. Binding validates the template for the model (a masked LM needs {@code {mask}} and a mask token; a
 * decoder reads nothing after {@code {mask}}; the template alone must fit) and tokenizes its words once.
 */
public final class TemplateEncoder {
    /** A template part as tokens: fixed ids, a field (tokenized per record), or the mask. */
    private record Piece(int[] ids, String field, String lead, boolean mask, int firstSoft) {
    }

    private final Template template;
    private final Tokenizer tok;
    private final AnswerMode mode;
    private final int maxLength;
    private final List<Piece> pieces = new ArrayList<>();
    private final List<Integer> softInit = new ArrayList<>();   // per soft token: the id it starts as, -1 = random
    private final int fixedTokens, specials, offset;

    TemplateEncoder(Template template, Tokenizer tok, AnswerMode mode, int maxLength) {
        this.template = template;
        this.tok = tok;
        this.mode = mode;
        this.maxLength = maxLength;
        if (mode == AnswerMode.MASK) {
            if (!template.hasMask()) throw new PeftException(template.describe() + " has no {mask}: a masked LM reads its answer at the mask");
            if (tok.maskId() < 0) throw new PeftException(template.describe() + ": the tokenizer has no mask token for {mask}");
        }
        boolean afterMask = false;
        int fixed = 0;
        for (Template.Part p : template.parts()) {
            if (afterMask && mode == AnswerMode.NEXT_TOKEN) {
                if (p instanceof Template.Literal) continue;    // a decoder answers at the mask: words after it are dropped
                throw new PeftException(template.describe() + ": " + describe(p) + " after {mask}, but a decoder answers with the token after the prompt,"
                        + " so nothing but template words (which are dropped) may follow {mask}");
            }
            if (p instanceof Template.Literal l) {
                pieces.add(new Piece(tokens(l.lead() + l.text(), "template words '" + l.text() + "'"), null, l.lead(), false, -1));
            } else if (p instanceof Template.Field f) {
                pieces.add(new Piece(null, f.slot(), f.lead(), false, -1));
            } else if (p instanceof Template.Mask m) {
                afterMask = true;
                if (mode == AnswerMode.MASK || mode == AnswerMode.NONE && tok.maskId() >= 0) {
                    pieces.add(new Piece(new int[]{tok.maskId()}, null, m.lead(), mode == AnswerMode.MASK, -1));
                }
            } else if (p instanceof Template.Soft s) {
                int first = softInit.size();
                int[] ids;
                if (s.words() == null) {
                    ids = new int[]{tok.padId()};             // a placeholder: the soft token replaces its embedding
                    softInit.add(-1);
                } else {
                    ids = tokens(s.lead() + s.words(), "{soft:" + s.words() + "}");
                    for (int id : ids) softInit.add(id);
                }
                pieces.add(new Piece(ids, null, s.lead(), false, first));
            }
        }
        for (Piece p : pieces) if (p.ids() != null) fixed += p.ids().length;
        this.fixedTokens = fixed;
        this.specials = tok.specialTokenCount(false);
        if (fixed + specials > maxLength) {
            throw new PeftException(template.describe() + " alone takes " + (fixed + specials) + " tokens (with " + specials
                    + " special tokens), more than the " + maxLength + " the model takes: no room for the input");
        }
        this.offset = segmentOffset(tok);
    }

    private static String describe(Template.Part p) {
        return p instanceof Template.Field f ? "field {" + f.slot() + "}" : "a soft token";
    }

    private int[] tokens(String text, String what) {
        int[] ids = tok.encodeText(text);
        if (ids.length == 0) throw new PeftException(template.describe() + ": " + what + " has no tokens");
        return ids;
    }

    /** Where the tokenizer puts a single segment's first token among its special tokens ({@code [CLS] a [SEP]}: 1; GPT-2: 0). */
    private static int segmentOffset(Tokenizer tok) {
        int[] empty = tok.withSpecialTokens(new int[0], null).ids();
        int probe = 0;
        while (contains(empty, probe)) probe++;
        int[] one = tok.withSpecialTokens(new int[]{probe}, null).ids();
        for (int i = 0; i < one.length; i++) if (one[i] == probe) return i;
        throw new IllegalStateException("the tokenizer dropped a segment's token when adding special tokens");
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    /** The template this encoder renders. */
    public Template template() {
        return template;
    }

    /** The tokenizer the template is bound to. */
    public Tokenizer tokenizer() {
        return tok;
    }

    /** Where the answer is read. */
    public AnswerMode mode() {
        return mode;
    }

    /** The longest rendering, special tokens included. */
    public int maxLength() {
        return maxLength;
    }

    /** How many soft tokens the template has for this tokenizer ({@code {soft:WORDS}} counts WORDS' tokens). */
    public int softTokenCount() {
        return softInit.size();
    }

    /** The token id each soft token is initialised from (its embedding row), or -1 for a random one. */
    public int[] softInitIds() {
        return softInit.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Renders one record: every slot filled from its field (stripped), the fields shortened to fit, the
     * tokenizer's special tokens added. A missing field is an error naming it and the record's fields.
     */
    public Rendered encode(Map<String, String> record) {
        List<int[]> fieldIds = new ArrayList<>();
        for (Piece p : pieces) {
            if (p.field() == null) continue;
            String name = template.recordField(p.field());
            String v = record.get(name);
            if (v == null) {
                throw new PeftException("a record has no field '" + name + "' for " + template.describe() + " (its fields: " + new TreeSet<>(record.keySet()) + ")");
            }
            v = v.strip();
            fieldIds.add(v.isEmpty() ? new int[0] : tok.encodeText(p.lead() + v));
        }
        int budget = maxLength - specials - fixedTokens;
        int total = fieldIds.stream().mapToInt(a -> a.length).sum(), cut = 0;
        int[] keep = fieldIds.stream().mapToInt(a -> a.length).toArray();
        while (total - cut > budget) {                  // the longest field loses one token (ties: the later one)
            int longest = 0;
            for (int i = 1; i < keep.length; i++) if (keep[i] >= keep[longest]) longest = i;
            keep[longest]--;
            cut++;
        }
        int[] segment = new int[fixedTokens + total - cut];
        int n = 0, f = 0, answer = -1;
        List<Integer> softPos = new ArrayList<>(), softIdx = new ArrayList<>();
        for (Piece p : pieces) {
            int[] ids = p.ids();
            if (p.field() != null) {
                int[] all = fieldIds.get(f);
                int k = keep[f++];
                ids = template.truncation() == Truncation.END ? Arrays.copyOfRange(all, 0, k) : Arrays.copyOfRange(all, all.length - k, all.length);
            }
            if (p.mask()) answer = n;
            if (p.firstSoft() >= 0) {
                for (int i = 0; i < ids.length; i++) {
                    softPos.add(offset + n + i);
                    softIdx.add(p.firstSoft() + i);
                }
            }
            System.arraycopy(ids, 0, segment, n, ids.length);
            n += ids.length;
        }
        if (n == 0) throw new PeftException(template.describe() + " rendered a record to no tokens");
        if (mode == AnswerMode.NEXT_TOKEN) answer = n - 1;
        Encoding e = tok.withSpecialTokens(segment, null);
        return new Rendered(e.ids(), e.typeIds(), answer < 0 ? -1 : offset + answer, softPos.stream().mapToInt(Integer::intValue).toArray(),
                softIdx.stream().mapToInt(Integer::intValue).toArray(), cut);
    }
}
