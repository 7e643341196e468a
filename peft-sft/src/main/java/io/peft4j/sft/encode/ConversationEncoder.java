package io.peft4j.sft.encode;

import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Example;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns conversations into causal-LM training examples: token ids and a loss mask ({@link Example.Lm}), the loss on the
 * responses only (Hugging Face's labels of -100 on everything else) or on every token.
 *
 * <p><b>Ids.</b> The whole conversation rendered by the {@link ChatFormat} and tokenized once, without added special
 * tokens (the template writes them): the ids Hugging Face's {@code apply_chat_template(tokenize=True)} gives.
 *
 * <p><b>Responses.</b> Assistant turn k's span is located in the rendered text by rendering prefixes: it starts where the
 * rendering of the turns before it with the generation prompt ends, if that is a prefix of the whole rendering; else
 * (a generation prompt that history does not repeat, as Qwen3's empty think block with thinking disabled) where the two
 * diverge, provided the turns before it rendered alone are a prefix of the whole (else the template renders history
 * differently once more turns follow, and the encoder says so). It ends after
 * the turn's content as the template writes it (trimmed content, found by search) plus the end-of-turn token that
 * directly follows it, whitespace between included: a special token such as {@code <|eot_id|>}, {@code <|im_end|>},
 * {@code </s>}, {@code <|endoftext|>}, which the model must learn to produce to stop. What the template adds between
 * the generation prompt and the content (Qwen3's empty {@code <think>} block when thinking is not disabled) belongs to
 * the response; whatever follows the end-of-turn token (a newline, the next turn's header) does not. Where the template
 * does not write the content as given (Qwen3 drops earlier turns' reasoning; a tool call replaces empty content), the
 * span runs to the first special token after its start. Character spans
 * become token spans by tokenizing the text before each boundary: where that is a prefix of the whole tokenization the
 * boundary is exact; where a token straddles a boundary it counts as after it ({@link Encoded#exactSpans} is false).
 *
 * <pre>{@code
 * ConversationEncoder enc = new ConversationEncoder(ChatFormat.builtin("instruction", tok), 512,
 *         ConversationEncoder.LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START);
 * ConversationEncoder.Encoding data = enc.encodeAll(InstructionFiles.read(file, InstructionFormat.ALPACA));
 * new Trainer<>(model, Objectives.causalLm(0), cfg).fit(data.examples(), null, null);
 * }</pre>
 */
public final class ConversationEncoder {
    private static final Logger LOG = LoggerFactory.getLogger(ConversationEncoder.class);

    /** Which tokens carry the loss. */
    public enum LossOn {
        /** The assistant turns' tokens and their end-of-turn tokens only. */
        RESPONSES,
        /** Every token (after the first, which nothing predicts). */
        ALL
    }

    /**
     * One encoded conversation.
     *
     * @param ids         token ids, at most the maximum length
     * @param lossMask    1 where the token is a loss target
     * @param truncated   whether the length policy cut it
     * @param exactSpans  whether every response boundary fell between tokens of the whole tokenization
     */
    public record Encoded(int[] ids, int[] lossMask, boolean truncated, boolean exactSpans) {
        /** As a training example. */
        public Example.Lm example() {
            return new Example.Lm(ids, lossMask);
        }

        /** Loss targets: positions i ≥ 1 with a mask of 1. */
        public int targets() {
            int n = 0;
            for (int i = 1; i < lossMask.length; i++) n += lossMask[i];
            return n;
        }
    }

    /**
     * A data set encoded.
     *
     * @param examples      the training examples, in input order, without the skipped ones
     * @param conversations the conversation of each example
     * @param truncated     how many were cut to the maximum length
     * @param skipped       how many were dropped ({@link LengthPolicy#DROP}, or nothing left to learn after a cut)
     */
    public record Encoding(List<Example.Lm> examples, List<Conversation> conversations, int truncated, int skipped) {
    }

    private final ChatFormat format;
    private final Tokenizer tok;
    private final int maxLength;
    private final LossOn lossOn;
    private final LengthPolicy policy;

    /**
     * @param maxLength the most tokens per example (the model's positions at most), at least 2
     */
    public ConversationEncoder(ChatFormat format, int maxLength, LossOn lossOn, LengthPolicy policy) {
        if (maxLength < 2) throw new IllegalArgumentException("max length " + maxLength + " leaves no room for a prompt token and a response token");
        this.format = format;
        this.tok = format.tokenizer();
        this.maxLength = maxLength;
        this.lossOn = lossOn;
        this.policy = policy;
    }

    public ChatFormat format() {
        return format;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Encodes every conversation, applying the length policy; logs how many were cut or skipped. */
    public Encoding encodeAll(List<Conversation> conversations) {
        List<Example.Lm> out = new ArrayList<>(conversations.size());
        List<Conversation> kept = new ArrayList<>(conversations.size());
        int truncated = 0, skipped = 0, inexact = 0;
        for (Conversation c : conversations) {
            Encoded e = encode(c);
            if (e == null) {
                skipped++;
                continue;
            }
            if (e.truncated()) truncated++;
            if (!e.exactSpans()) inexact++;
            out.add(e.example());
            kept.add(c);
        }
        if (truncated + skipped > 0) {
            LOG.info("{} of {} examples were longer than {} tokens: {} cut ({}), {} skipped", truncated + skipped, conversations.size(), maxLength,
                    truncated, policy, skipped);
        }
        if (inexact > 0) LOG.info("{} examples have a response boundary inside a token (counted after the boundary)", inexact);
        if (out.isEmpty()) throw new PeftException("no training examples left: all " + conversations.size() + " were skipped by the length policy " + policy);
        return new Encoding(out, kept, truncated, skipped);
    }

    /**
     * One conversation, the length policy applied; null when the policy skips it. A conversation without an assistant
     * turn is an error when the loss is on the responses (nothing to learn); faults name its file and line.
     */
    public Encoded encode(Conversation c) {
        Encoded full = encodeWhole(c);
        return fit(full);
    }

    /** The conversation's ids and mask before the length policy. */
    public Encoded encodeWhole(Conversation c) {
        List<Message> ms = c.messages();
        String text = format.render(c, ms, false);
        int[] ids = tok.encodeText(text);
        int[] mask = new int[ids.length];
        if (lossOn == LossOn.ALL) {
            Arrays.fill(mask, 1);
            return new Encoded(ids, mask, false, true);
        }
        boolean exact = true, any = false;
        int pos = 0;
        for (int k = 0; k < ms.size(); k++) {
            if (!ms.get(k).isAssistant()) continue;
            any = true;
            int start;
            if (k == 0) {
                start = text.indexOf(ms.get(k).content().strip());
                if (start < 0) throw fault(c, k, "its content does not appear in the rendered text");
            } else {
                String prefix = format.render(c, ms.subList(0, k), true);
                if (text.startsWith(prefix)) {
                    start = prefix.length();
                } else {
                    // a generation prompt that history does not repeat (Qwen3's empty think block with thinking disabled):
                    // the turn starts where the two diverge, once the turns before it are all behind
                    String before = format.render(c, ms.subList(0, k), false);
                    start = commonPrefix(prefix, text);
                    if (!text.startsWith(before) || start < before.length()) start = -1;
                }
                if (start < pos) {
                    throw fault(c, k, "the chat template renders the turns before it differently once more turns follow, so its start cannot be "
                            + "located (train on every token, or use a template that renders history the same way)");
                }
            }
            int end = responseEnd(c, k, text, start, ms.get(k).content());
            int[] a = boundary(ids, text, start), b = boundary(ids, text, end);
            exact &= a[1] == 1 && b[1] == 1;
            Arrays.fill(mask, a[0], Math.max(a[0], b[0]), 1);
            pos = end;
        }
        if (!any) throw PeftException.inFile(c.where(), "no assistant turn: nothing to learn (the loss is on the responses)");
        return new Encoded(ids, mask, false, exact);
    }

    /**
     * Where assistant turn {@code k}'s span ends: after the first occurrence of its trimmed content at or after
     * {@code start} that is followed by whitespace and then an end-of-turn special token (or the end of the text), the
     * token included; failing that (a template that rewrites the content, as Qwen3 drops the reasoning of earlier turns,
     * or writes tool calls in its place), after the first special token at or after {@code start}; failing that, at the
     * end of the content's first occurrence.
     */
    private int responseEnd(Conversation c, int k, String text, int start, String content) {
        String want = content.strip();
        int first = -1;
        for (int from = start; ; ) {
            int i = want.isEmpty() ? (from == start ? start : -1) : text.indexOf(want, from);
            if (i < 0) break;
            int contentEnd = i + want.length();
            if (first < 0) first = contentEnd;
            int end = endOfTurn(text, contentEnd);
            if (end >= 0) return end;
            if (want.isEmpty()) break;
            from = i + 1;
        }
        int special = firstSpecialEnd(text, start);
        if (special >= 0) return special;
        if (first < 0 || want.isEmpty()) throw fault(c, k, "the chat template does not write its content as given and ends it with no special token, so its span cannot be located");
        return first;
    }

    /** The end of the first special token in {@code text} at or after {@code from}, or -1. */
    private int firstSpecialEnd(String text, int from) {
        for (int id : tok.encodeText(text.substring(from))) {
            if (!isSpecial(tok, id)) continue;
            String t = tok.decode(new int[]{id}, false);
            int at = text.indexOf(t, from);
            return at < 0 ? -1 : at + t.length();
        }
        return -1;
    }

    /** After {@code contentEnd}: whitespace then a special token (its end returned), or the text's end ({@code contentEnd}); else -1. */
    private int endOfTurn(String text, int contentEnd) {
        int p = contentEnd;
        while (p < text.length() && Character.isWhitespace(text.charAt(p))) p++;
        if (p == text.length()) return contentEnd;
        String window = text.substring(p, Math.min(text.length(), p + 64));
        int[] ids = tok.encodeText(window);
        if (ids.length > 0 && isSpecial(tok, ids[0])) {
            String t = tok.decode(new int[]{ids[0]}, false);
            if (window.startsWith(t)) return p + t.length();
        }
        return -1;
    }

    /** Whether {@code id} is a special token: one that decoding with {@code skipSpecial} drops. */
    static boolean isSpecial(Tokenizer tok, int id) {
        return tok.decode(new int[]{id}, true).isEmpty() && !tok.decode(new int[]{id}, false).isEmpty();
    }

    /**
     * The token index where character {@code pos} falls, and 1 if it is exact (the tokenization of the text before it is
     * a prefix of {@code ids}) or 0 if a token straddles it (the index is then that token's).
     */
    private int[] boundary(int[] ids, String text, int pos) {
        if (pos <= 0) return new int[]{0, 1};
        if (pos >= text.length()) return new int[]{ids.length, 1};
        int[] pre = tok.encodeText(text.substring(0, pos));
        int j = 0;
        while (j < pre.length && j < ids.length && pre[j] == ids[j]) j++;
        return new int[]{j, j == pre.length ? 1 : 0};
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length()), i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    private static PeftException fault(Conversation c, int k, String what) {
        return PeftException.inFile(c.where(), "message " + k + " (assistant): " + what);
    }

    /** Applies the length policy; null when it skips the example. */
    Encoded fit(Encoded e) {
        int n = e.ids().length, max = maxLength;
        if (n <= max) return e;
        int[] ids = e.ids(), mask = e.lossMask();
        // with the loss on every token, the prompt is nothing: keep the start
        int[] window = (policy == LengthPolicy.CUT_PROMPT_START && lossOn == LossOn.ALL ? LengthPolicy.CUT_END : policy).window(mask, max);
        if (window == null) return null;
        int from = window[0], to = window[1];
        int[] cutIds = Arrays.copyOfRange(ids, from, to), cutMask = Arrays.copyOfRange(mask, from, to);
        Encoded out = new Encoded(cutIds, cutMask, true, e.exactSpans());
        return out.targets() == 0 ? null : out;
    }
}
