package io.peft4j.sft.eval;

import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.sft.TinyGpt2;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.Message;
import io.peft4j.sft.encode.ChatFormat;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class GenerationEvalTest {
    private static final Tokenizer TOK = TinyGpt2.tokenizer();

    private static int[] ids(String s) {
        return TOK.encodeText(s);
    }

    private static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void answersEndAtEosSpecialTokensAndStopStrings() {
        assertThat(GenerationEval.decodeAnswer(TOK, concat(ids("abc"), TinyGpt2.EOS, 70, 71), List.of())).isEqualTo("abc");
        assertThat(GenerationEval.decodeAnswer(TOK, ids("ab\ncd"), List.of("\n"))).isEqualTo("ab");
        assertThat(GenerationEval.decodeAnswer(TOK, ids("x END y ###"), List.of("###", " END"))).isEqualTo("x");
        assertThat(GenerationEval.decodeAnswer(TOK, ids("a b"), List.of("zz"))).isEqualTo("a b");
    }

    /** Scores per task, over all answers and as the mean of tasks, by hand; prompts cut to the room the answer leaves. */
    @Test
    void scoresPerTaskOverallAndTaskMean() {
        ChatFormat plain = ChatFormat.builtin("plain", TOK);
        List<Conversation> cs = List.of(
                Conversation.of(List.of(Message.user("rev abc"), Message.assistant("cba")), "A"),
                Conversation.of(List.of(Message.user("low ABC"), Message.assistant("abc")), "A"),
                Conversation.of(List.of(Message.user("two words"), Message.assistant("x z")), "B"));
        Map<String, String> answers = Map.of("rev abc\n", "cba", "low ABC\n", "Abc. and more", "two words\n", "x y\nignored");
        List<String> prompts = new ArrayList<>();
        List<Long> seeds = new ArrayList<>();
        Completer fake = new Completer() {
            @Override
            public int[] complete(int[] prompt, int maxNewTokens, double temperature, long seed) {
                String p = TOK.decode(prompt, false);
                prompts.add(p);
                seeds.add(seed);
                return concat(ids(answers.get(p)), TinyGpt2.EOS);
            }
        };
        var r = GenerationEval.evaluate(cs, plain, fake, GenerationConfig.greedy(8).withStop("\n", " and").sampled(0.7, 100));
        assertThat(seeds).containsExactly(100L, 101L, 102L);
        assertThat(r.predictions().stream().map(GenerationEval.Prediction::prediction)).containsExactly("cba", "Abc.", "x y");
        // A: exact 1, 0; label 1, 1 (normalised "abc"); ROUGE-L 1, 1.  B: "x y" vs "x z": exact 0, label 0, ROUGE-L 0.5
        var a = r.perTask().get("A");
        var b = r.perTask().get("B");
        assertThat(a.n()).isEqualTo(2);
        assertThat(a.exactMatch()).isEqualTo(0.5);
        assertThat(a.accuracy()).isEqualTo(1.0);
        assertThat(a.rougeL()).isCloseTo(1.0, within(1e-12));
        assertThat(b.exactMatch()).isZero();
        assertThat(b.accuracy()).isZero();
        assertThat(b.rougeL()).isCloseTo(0.5, within(1e-12));
        assertThat(r.overall().n()).isEqualTo(3);
        assertThat(r.overall().exactMatch()).isCloseTo(1 / 3.0, within(1e-12));
        assertThat(r.overall().accuracy()).isCloseTo(2 / 3.0, within(1e-12));
        assertThat(r.overall().rougeL()).isCloseTo(2.5 / 3, within(1e-12));
        assertThat(r.taskMean().exactMatch()).isCloseTo(0.25, within(1e-12));
        assertThat(r.taskMean().accuracy()).isCloseTo(0.5, within(1e-12));
        assertThat(r.taskMean().rougeL()).isCloseTo(0.75, within(1e-12));

        // a model of 8 positions answering with up to 4 tokens gets the prompt's last 4 tokens
        List<String> seen = new ArrayList<>();
        Completer small = new Completer() {
            @Override
            public int[] complete(int[] prompt, int maxNewTokens, double temperature, long seed) {
                seen.add(TOK.decode(prompt, false));
                return ids("cba");
            }

            @Override
            public int maxPositions() {
                return 8;
            }
        };
        GenerationEval.evaluate(cs.subList(0, 1), plain, small, GenerationConfig.greedy(4));
        assertThat(seen).containsExactly("abc\n");
        Conversation noAnswer = Conversation.of(List.of(Message.user("q")), null);
        assertThatThrownBy(() -> GenerationEval.evaluate(List.of(noAnswer), plain, fake, GenerationConfig.greedy(4)))
                .hasMessageContaining("no assistant turn to compare the answer with");
    }
}
