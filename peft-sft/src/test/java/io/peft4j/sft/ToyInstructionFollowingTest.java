package io.peft4j.sft;

import io.peft4j.core.Fixtures;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.sft.ToyInstructions.Task;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.encode.ConversationEncoder;
import io.peft4j.sft.encode.LengthPolicy;
import io.peft4j.sft.eval.Completer;
import io.peft4j.sft.eval.GenerationConfig;
import io.peft4j.sft.eval.GenerationEval;
import io.peft4j.sft.eval.TextMetrics;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FLAN effect in miniature: gpt2-tiny (random weights, 2 layers, d = 32) instruction-tuned on a toy family of
 * string tasks ({@link ToyInstructions}: copy, upper case, last letter; three phrasings each) against the same model
 * tuned on one task (copy) for the same number of steps. Both are scored by greedy generation
 * ({@link GenerationEval}) on the seen tasks under a held-out phrasing of the instruction and on a held-out task (the
 * last letter in upper case, a composition of two seen skills).
 *
 * <p>Full fine-tuning ({@link PeftModel#unfreezeBase()}), not LoRA: LoRA on the random tiny model barely moved the loss
 * in the step budget of a unit test (4.19 to 3.93 in 200 steps), while full fine-tuning learns the tasks. Conversations
 * are rendered with the {@code plain} chat format, loss on the responses only.
 *
 * <p>Scores: exact match, and a character-level ROUGE-L (ROUGE-L F of {@link TextMetrics#rougeL} over the answers'
 * characters, case-insensitive as ROUGE-L is) that gives partial credit, logged for every set.
 *
 * <p>Measured (seeds fixed; 1000 steps of 6 examples each, 20 answers per set; about 85 s on a busy 2-core machine):
 * <ul>
 *   <li>seen tasks under a held-out phrasing, mean over the tasks: exact match multi 0.183 vs single 0.000 (only the
 *       last-letter task is answered exactly, 0.55; copy and upper case under their new phrasing are not), character
 *       ROUGE-L multi 0.440 vs single 0.242. Asserted: multi at least single + 0.1 (exact) and + 0.15 (characters).</li>
 *   <li>the held-out task: exact match multi 0.000 vs single 0.000, no advantage; character ROUGE-L multi 0.330 vs
 *       single 0.077 (the multi-task model answers with the input's letters, often in upper case and ending in the
 *       right one, the single-task one mostly with unrelated letters). Asserted: character ROUGE-L multi at least
 *       single + 0.1; exact match is too strict for a random-init model this small and is only logged.</li>
 * </ul>
 * The multi-task model is still learning at the end (mean loss 0.99 over the last 100 steps, single-task 0.06), so
 * where it ends depends on rounding: after the GELU kernel's lookup moved from double to float arithmetic (results
 * within a float rounding of the old ones), the same seeds gave held-out phrasing exact 0.200 vs 0.000 and characters
 * 0.499 vs 0.258, and on the held-out task characters 0.205 vs 0.063. The margins asserted hold for both runs.
 */
class ToyInstructionFollowingTest {
    private static final Logger LOG = LoggerFactory.getLogger(ToyInstructionFollowingTest.class);

    static final List<Task> SEEN = List.of(ToyInstructions.COPY, ToyInstructions.UPPER, ToyInstructions.LAST);
    static final Task SINGLE = ToyInstructions.COPY;
    static final Task HELD_OUT = ToyInstructions.UPPER_LAST;
    static final int EXAMPLES = 2000, STEPS = 1000, BATCH = 6, EVAL = 20;
    static final double LR = 5e-3;

    static PeftModel tune(List<Conversation> train) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        m.unfreezeBase();
        var enc = new ConversationEncoder(ChatFormat.builtin("plain", TinyGpt2.tokenizer()), 64, ConversationEncoder.LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START);
        var cfg = TrainingConfig.defaults().withLearningRate(LR).withBatchSize(BATCH, 1).withMaxSteps(STEPS).withWarmup(50, Schedule.LINEAR).withSeed(1);
        List<Double> l = new Trainer<>(m, Objectives.causalLm(0), cfg).fit(enc.encodeAll(train).examples(), null, null).losses();
        StringBuilder curve = new StringBuilder();
        for (int i = 0; i < l.size(); i += 100) curve.append(String.format(" %.2f", l.subList(i, Math.min(l.size(), i + 100)).stream().mapToDouble(Double::doubleValue).average().orElse(0)));
        LOG.info("trained {} steps on {} examples: mean loss per 100 steps{}", STEPS, train.size(), curve);
        return m;
    }

    /** Exact match and character-level ROUGE-L of {@code m}'s greedy answers to {@code cs}. */
    static double[] score(PeftModel m, String name, List<Conversation> cs) {
        var r = GenerationEval.evaluate(cs, ChatFormat.builtin("plain", TinyGpt2.tokenizer()), Completer.of(m.base(), TinyGpt2.EOS), GenerationConfig.greedy(6).withStop("\n"));
        double chars = r.predictions().stream().mapToDouble(p -> TextMetrics.rougeL(spaced(p.reference()), spaced(p.prediction())).f()).average().orElse(0);
        StringBuilder eg = new StringBuilder();
        for (var p : r.predictions().subList(0, 3)) eg.append(' ').append(p.reference()).append("->").append(p.prediction());
        LOG.info(String.format("  %-30s exact %.2f chars %.2f  e.g.%s", name, r.overall().exactMatch(), chars, eg));
        return new double[]{r.overall().exactMatch(), chars};
    }

    private static String spaced(String s) {
        return String.join(" ", s.split(""));
    }

    /** Mean exact match and character ROUGE-L on the seen tasks under their held-out phrasing, and on the held-out task. */
    static double[][] evaluate(String label, PeftModel m) {
        LOG.info("{}:", label);
        double[] phrasing = new double[2];
        for (Task t : SEEN) {
            double[] s = score(m, t.name() + ", held-out phrasing", ToyInstructions.eval(t, t.heldOut(), EVAL, 102));
            for (int i = 0; i < 2; i++) phrasing[i] += s[i] / SEEN.size();
        }
        double[] task = score(m, HELD_OUT.name() + " (held-out task)", ToyInstructions.eval(HELD_OUT, HELD_OUT.train().get(0), EVAL, 103));
        LOG.info(String.format("%s: held-out phrasing exact %.3f chars %.3f; held-out task exact %.3f chars %.3f", label, phrasing[0], phrasing[1], task[0], task[1]));
        return new double[][]{phrasing, task};
    }

    @Test
    void multiTaskTuningFollowsAHeldOutPhrasingBetterThanSingleTask() {
        double[][] multi = evaluate("multi-task", tune(ToyInstructions.training(SEEN, EXAMPLES / SEEN.size(), 1)));
        double[][] single = evaluate("single-task", tune(ToyInstructions.training(List.of(SINGLE), EXAMPLES, 1)));
        assertTrue(multi[0][0] >= single[0][0] + 0.1, "held-out phrasing, exact match: multi " + multi[0][0] + " vs single " + single[0][0]);
        assertTrue(multi[0][1] >= single[0][1] + 0.15, "held-out phrasing, character ROUGE-L: multi " + multi[0][1] + " vs single " + single[0][1]);
        assertTrue(multi[1][1] >= single[1][1] + 0.1, "held-out task, character ROUGE-L: multi " + multi[1][1] + " vs single " + single[1][1]);
    }
}
