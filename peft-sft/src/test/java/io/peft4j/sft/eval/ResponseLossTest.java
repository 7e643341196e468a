package io.peft4j.sft.eval;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.hf.ChatTemplate;
import io.peft4j.core.train.Example;
import io.peft4j.sft.TinyGpt2;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.Message;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.encode.ConversationEncoder;
import io.peft4j.sft.encode.LengthPolicy;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The response-only loss against hand computations from the fixtures' reference logits. */
class ResponseLossTest {
    /** −log softmax(logits[t])[target], in double. */
    static double nll(double[] logits, int target) {
        double max = Arrays.stream(logits).max().orElseThrow(), sum = 0;
        for (double v : logits) sum += Math.exp(v - max);
        return -(logits[target] - max - Math.log(sum));
    }

    /** Mean NLL of ids[t+1] at positions t = from-1 .. to-2 (targets ids[from..to-1]) from the reference logits. */
    static double[] handLoss(double[][] logits, int[] ids, int from, int to) {
        double s = 0;
        for (int t = from - 1; t < to - 1; t++) s += nll(logits[t], ids[t + 1]);
        return new double[]{s, to - from};
    }

    /**
     * gpt2-tiny's reference input "fask).p" as the prompt "fas" and the response "k).p": the loss is the mean NLL of the
     * four response tokens under the independent reference's logits; with a second, shorter example in the batch
     * (padding), the token-weighted mean of both.
     */
    @Test
    void responseOnlyLossOnGpt2TinyEqualsTheHandComputation() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        double[][] logits = Fixtures.matrix(exp.get("logits"));
        PeftModel model = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        double[] a = handLoss(logits, ids, 3, 7);
        Example.Lm one = Example.Lm.response(Arrays.copyOf(ids, 3), Arrays.copyOfRange(ids, 3, 7));
        ResponseLoss.Result r = ResponseLoss.evaluate(model, List.of(one), 4);
        assertThat(r.tokens()).isEqualTo(4);
        assertThat(r.loss()).isCloseTo(a[0] / 4, within(1e-5));
        assertThat(r.perplexity()).isCloseTo(Math.exp(a[0] / 4), within(1e-4));

        // through the encoder: a template that writes the turns' texts one after the other, so the ids are the fixture's
        Conversation c = Conversation.of(List.of(Message.user("fas"), Message.assistant("k).p")), null);
        ChatFormat concat = ChatFormat.of("concat", ChatTemplate.of("concat", "{% for m in messages %}{{ m.content }}{% endfor %}", Map.of()),
                TinyGpt2.tokenizer(), Map.of());
        var e = new ConversationEncoder(concat, 64, ConversationEncoder.LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START).encode(c);
        assertThat(e.ids()).containsExactly(ids);
        assertThat(e.lossMask()).containsExactly(0, 0, 0, 1, 1, 1, 1);
        assertThat(ResponseLoss.evaluate(model, List.of(e.example()), 4).loss()).isCloseTo(a[0] / 4, within(1e-5));

        // a batch with "fa" -> "sk": a causal model's logits at positions 0..3 are those of the full input
        double[] b = handLoss(logits, ids, 2, 4);
        Example.Lm two = Example.Lm.response(Arrays.copyOf(ids, 2), Arrays.copyOfRange(ids, 2, 4));
        ResponseLoss.Result both = ResponseLoss.evaluate(model, List.of(one, two), 2);
        assertThat(both.tokens()).isEqualTo(6);
        assertThat(both.loss()).isCloseTo((a[0] + b[0]) / 6, within(1e-5));
        assertThat(ResponseLoss.evaluate(model, List.of(one, two), 1).loss()).isCloseTo(both.loss(), within(1e-6));
        var byTask = ResponseLoss.byTask(model, List.of(one, two), List.of("x", "y"), 8);
        assertThat(byTask.get("y").loss()).isCloseTo(b[0] / 2, within(1e-5));
        // as the trainer's dev metric, in batches of one: still per target token (4 and 2), not the mean of the two examples' means
        assertThat(ResponseLoss.metric(1).evaluate(model, List.of(one, two))).isCloseTo((a[0] + b[0]) / 6, within(1e-5));
        assertThat(ResponseLoss.metric(1).higherIsBetter()).isFalse();
        assertThat(Math.abs((a[0] / 4 + b[0] / 2) / 2 - (a[0] + b[0]) / 6)).isGreaterThan(1e-3);   // the two weightings differ here
    }

    /**
     * llama-tiny's {@code response_loss} (the independent reference's mean cross-entropy with labels -100 on the first
     * {@code response_loss_prompt_len} tokens).
     */
    @Test
    void responseOnlyLossOnLlamaTinyEqualsTheFixture() {
        Path dir = Fixtures.dir("llama-tiny");
        JsonNode exp = Json.read(dir.resolve("expected.json"));
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        int p = exp.get("response_loss_prompt_len").asInt();
        PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT));
        Example.Lm e = Example.Lm.response(Arrays.copyOf(ids, p), Arrays.copyOfRange(ids, p, ids.length));
        assertThat(ResponseLoss.evaluate(model, List.of(e), 1).loss()).isCloseTo(exp.get("response_loss").asDouble(), within(1e-4));
    }
}
