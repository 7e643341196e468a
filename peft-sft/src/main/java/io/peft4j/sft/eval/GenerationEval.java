package io.peft4j.sft.eval;

import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.encode.ChatFormat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluation by generation. For each conversation, the turns before its last assistant turn are rendered with the
 * generation prompt ({@link ChatFormat#promptIds}); the model continues them ({@link Completer}); the answer is the new
 * tokens up to the end-of-sequence token or the first other special token (an end-of-turn token such as
 * {@code <|eot_id|>}), decoded, and cut before the first stop string; it is scored against the last assistant turn with
 * {@link TextMetrics}: exact match, normalised (label) accuracy and ROUGE-L F. Scores are reported per task, over all
 * answers (micro) and as the mean of the tasks' scores (macro).
 *
 * <p>A prompt longer than the model's positions minus {@code maxNewTokens} keeps its last tokens (the generation prompt
 * and the text nearest it).
 *
 * <pre>{@code
 * GenerationEval.Report r = GenerationEval.evaluate(heldOut, chat, Completer.of(model.base(), tok.eosId()),
 *         GenerationConfig.greedy(32).withStop("\n"));
 * r.overall().exactMatch();
 * }</pre>
 */
public final class GenerationEval {
    private GenerationEval() {
    }

    /**
     * Mean scores of {@code n} answers.
     *
     * @param n          answers
     * @param exactMatch share of exact matches
     * @param accuracy   share of normalised (label) matches
     * @param rougeL     mean ROUGE-L F-measure
     */
    public record Scores(int n, double exactMatch, double accuracy, double rougeL) {
        static Scores of(List<Prediction> ps) {
            if (ps.isEmpty()) return new Scores(0, Double.NaN, Double.NaN, Double.NaN);
            double em = 0, acc = 0, rl = 0;
            for (Prediction p : ps) {
                em += p.exactMatch() ? 1 : 0;
                acc += p.accurate() ? 1 : 0;
                rl += p.rougeL();
            }
            return new Scores(ps.size(), em / ps.size(), acc / ps.size(), rl / ps.size());
        }
    }

    /**
     * One answer.
     *
     * @param task       the conversation's task
     * @param reference  the last assistant turn
     * @param prediction the generated answer
     * @param exactMatch {@link TextMetrics#exactMatch}
     * @param accurate   {@link TextMetrics#labelMatch}
     * @param rougeL     {@link TextMetrics#rougeL}'s F-measure
     */
    public record Prediction(String task, String reference, String prediction, boolean exactMatch, boolean accurate, double rougeL) {
    }

    /**
     * The evaluation's results.
     *
     * @param predictions every answer, in input order
     * @param perTask     scores per task, tasks in order of first appearance
     * @param overall     scores over all answers
     * @param taskMean    each score's mean over the tasks
     */
    public record Report(List<Prediction> predictions, Map<String, Scores> perTask, Scores overall, Scores taskMean) {
    }

    /** Generates an answer for every conversation and scores it; a conversation without an assistant turn is an error naming it. */
    public static Report evaluate(List<Conversation> conversations, ChatFormat format, Completer model, GenerationConfig cfg) {
        List<Prediction> out = new ArrayList<>(conversations.size());
        for (int i = 0; i < conversations.size(); i++) {
            Conversation c = conversations.get(i);
            String reference = c.response();
            if (reference == null) throw PeftException.inFile(c.where(), "no assistant turn to compare the answer with");
            String answer = answer(c, format, model, cfg, cfg.seed() + i);
            TextMetrics.Rouge rl = TextMetrics.rougeL(reference, answer);
            out.add(new Prediction(c.task(), reference, answer, TextMetrics.exactMatch(answer, reference), TextMetrics.labelMatch(answer, reference), rl.f()));
        }
        return report(out);
    }

    /** The generated answer to {@code c}'s prompt (its turns before the last assistant turn). */
    public static String answer(Conversation c, ChatFormat format, Completer model, GenerationConfig cfg, long seed) {
        int[] prompt;
        try {
            prompt = format.promptIds(c.prompt());
        } catch (PeftException e) {
            throw e.with("rendering " + c.where());
        }
        int room = Math.max(1, model.maxPositions() - cfg.maxNewTokens());
        if (prompt.length > room) prompt = Arrays.copyOfRange(prompt, prompt.length - room, prompt.length);
        int[] ids = model.complete(prompt, cfg.maxNewTokens(), cfg.temperature(), seed);
        return decodeAnswer(format.tokenizer(), ids, cfg.stop());
    }

    /** The answer text of generated {@code ids}: up to the first special token, decoded, cut before the first stop string. */
    public static String decodeAnswer(Tokenizer tok, int[] ids, List<String> stop) {
        int n = 0;
        while (n < ids.length && !isSpecial(tok, ids[n])) n++;
        String text = tok.decode(Arrays.copyOf(ids, n), true);
        int cut = text.length();
        for (String s : stop) {
            int i = text.indexOf(s);
            if (i >= 0 && i < cut) cut = i;
        }
        return text.substring(0, cut);
    }

    private static boolean isSpecial(Tokenizer tok, int id) {
        return tok.decode(new int[]{id}, true).isEmpty() && !tok.decode(new int[]{id}, false).isEmpty();
    }

    /** Per-task, overall and task-mean scores of {@code predictions}. */
    public static Report report(List<Prediction> predictions) {
        Map<String, List<Prediction>> byTask = new LinkedHashMap<>();
        for (Prediction p : predictions) byTask.computeIfAbsent(p.task(), t -> new ArrayList<>()).add(p);
        Map<String, Scores> perTask = new LinkedHashMap<>();
        byTask.forEach((t, ps) -> perTask.put(t, Scores.of(ps)));
        double em = 0, acc = 0, rl = 0;
        for (Scores s : perTask.values()) {
            em += s.exactMatch();
            acc += s.accuracy();
            rl += s.rougeL();
        }
        int k = perTask.size();
        Scores mean = k == 0 ? new Scores(0, Double.NaN, Double.NaN, Double.NaN) : new Scores(predictions.size(), em / k, acc / k, rl / k);
        return new Report(List.copyOf(predictions), Collections.unmodifiableMap(perTask), Scores.of(predictions), mean);
    }
}
