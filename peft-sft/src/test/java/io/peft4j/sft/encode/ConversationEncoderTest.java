package io.peft4j.sft.encode;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.tokenizer.hf.ChatTemplate;
import io.peft4j.core.tokenizer.hf.RealTokenizers;
import io.peft4j.sft.TinyGpt2;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.InstructionFiles;
import io.peft4j.sft.data.InstructionFormat;
import io.peft4j.sft.data.Message;
import io.peft4j.sft.encode.ConversationEncoder.Encoded;
import io.peft4j.sft.encode.ConversationEncoder.LossOn;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Response masks located through real chat templates, the built-in templates, template faults and the length policies. */
class ConversationEncoderTest {
    /** The decoded text of each maximal run of masked tokens. */
    static List<String> maskedRuns(Tokenizer tok, Encoded e) {
        List<String> runs = new ArrayList<>();
        for (int i = 0; i < e.ids().length; ) {
            if (e.lossMask()[i] == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < e.ids().length && e.lossMask()[j] == 1) j++;
            runs.add(tok.decode(Arrays.copyOfRange(e.ids(), i, j), false));
            i = j;
        }
        return runs;
    }

    private static Conversation conversation(JsonNode ref) {
        List<Message> ms = new ArrayList<>();
        for (JsonNode m : ref.get("messages")) ms.add(new Message(m.get("role").asText(), m.get("content").asText()));
        return Conversation.of(ms, null);
    }

    private static JsonNode reference(String tokenizer, String file, int line) {
        return RealTokenizers.reference(tokenizer, file).get(line);
    }

    /**
     * The real Llama 3 template: the ids equal Hugging Face's (the reference's, rendered and encoded by HF's JavaScript
     * Jinja and tokenizers), and exactly each assistant content with its {@code <|eot_id|>} carries the mask.
     */
    @Test
    void llama3MasksEachAssistantContentAndItsEndOfTurnToken() {
        Tokenizer tok = Tokenizers.load(RealTokenizers.dir("llama3"));
        ChatFormat chat = ChatFormat.resolve(RealTokenizers.dir("llama3"), null, tok);
        var enc = new ConversationEncoder(chat, 4096, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START);
        record Case(String file, int line, List<String> runs) {
        }
        for (Case k : List.of(new Case("reference-chat.jsonl", 0, List.of("spam<|eot_id|>")),
                new Case("reference-chat-extended.jsonl", 3, List.of("<think>\nThe user asks why.\n</think>\n\nBecause.<|eot_id|>")),
                new Case("reference-chat-extended.jsonl", 4, List.of("<think>r1</think>A1<|eot_id|>", "A2<|eot_id|>")))) {
            JsonNode ref = reference("llama3", k.file(), k.line());
            assertThat(ref.get("add_generation_prompt").asBoolean()).isFalse();
            Encoded e = enc.encode(conversation(ref));
            assertThat(e.ids()).as(k.toString()).containsExactly(Fixtures.ints(ref.get("ids")));
            assertThat(maskedRuns(tok, e)).as(k.toString()).isEqualTo(k.runs());
            assertThat(e.exactSpans()).isTrue();
            assertThat(e.truncated()).isFalse();
        }
        // the prompt of the last turn is the reference's rendering with the generation prompt
        JsonNode gen = reference("llama3", "reference-chat.jsonl", 1);
        assertThat(chat.promptIds(conversation(gen).messages())).containsExactly(Fixtures.ints(gen.get("ids")));
    }

    /**
     * The real Qwen3 template: the last turn's empty think block belongs to the response unless thinking is disabled (then
     * the generation prompt holds it); an earlier turn's reasoning, which Qwen3 drops from history, is not searched for.
     */
    @Test
    void qwen3MasksResponsesWithOrWithoutTheThinkBlock() {
        Tokenizer tok = Tokenizers.load(RealTokenizers.dir("qwen3"));
        ChatFormat chat = ChatFormat.resolve(RealTokenizers.dir("qwen3"), null, tok);
        ChatFormat noThinking = chat.withVariables(Map.of("enable_thinking", false));
        record Case(String file, int line, List<String> runs, List<String> runsNoThinking) {
        }
        for (Case k : List.of(
                new Case("reference-chat.jsonl", 0, List.of("<think>\n\n</think>\n\nspam<|im_end|>"), List.of("spam<|im_end|>")),
                new Case("reference-chat-extended.jsonl", 3, List.of("<think>\nThe user asks why.\n</think>\n\nBecause.<|im_end|>"), null),
                new Case("reference-chat-extended.jsonl", 4, List.of("A1<|im_end|>", "<think>\n\n</think>\n\nA2<|im_end|>"),
                        List.of("A1<|im_end|>", "A2<|im_end|>")))) {
            JsonNode ref = reference("qwen3", k.file(), k.line());
            Encoded e = new ConversationEncoder(chat, 4096, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START).encode(conversation(ref));
            assertThat(e.ids()).as(k.toString()).containsExactly(Fixtures.ints(ref.get("ids")));
            assertThat(maskedRuns(tok, e)).as(k.toString()).isEqualTo(k.runs());
            if (k.runsNoThinking() != null) {
                Encoded n = new ConversationEncoder(noThinking, 4096, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START).encode(conversation(ref));
                assertThat(n.ids()).containsExactly(e.ids());
                assertThat(maskedRuns(tok, n)).as(k + " without thinking").isEqualTo(k.runsNoThinking());
            }
        }
    }

    /** GPT-2's tokenizer with the built-in instruction template: the rendering by hand, the response and its EOS masked. */
    @Test
    void builtinInstructionTemplateOnGpt2() {
        Tokenizer tok = Tokenizers.load(Fixtures.resource("tokenizers/gpt2"));
        ChatFormat chat = ChatFormat.builtin("instruction", tok);
        Conversation c = Conversation.of(List.of(Message.system("Be brief."), Message.user("Name a colour."), Message.assistant("Red.")), null);
        String text = "Be brief.\n\n### Instruction:\nName a colour.\n\n### Response:\nRed.<|endoftext|>\n\n";
        assertThat(chat.render(c.messages(), false)).isEqualTo(text);
        String prompt = "Be brief.\n\n### Instruction:\nName a colour.\n\n### Response:\n";
        assertThat(chat.render(c.prompt(), true)).isEqualTo(prompt);
        Encoded e = new ConversationEncoder(chat, 1024, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START).encode(c);
        assertThat(e.ids()).containsExactly(tok.encodeText(text));
        assertThat(maskedRuns(tok, e)).containsExactly("Red.<|endoftext|>");
        int[] promptIds = tok.encodeText(prompt);
        assertThat(Arrays.copyOf(e.ids(), promptIds.length)).containsExactly(promptIds);
        assertThat(e.targets()).isEqualTo(tok.encodeText("Red.").length + 1);
        Encoded all = new ConversationEncoder(chat, 1024, LossOn.ALL, LengthPolicy.CUT_PROMPT_START).encode(c);
        assertThat(all.targets()).isEqualTo(all.ids().length - 1);
        // the raw template: prompt and completion as plain continuation
        ChatFormat raw = ChatFormat.builtin("raw", tok);
        Encoded r = new ConversationEncoder(raw, 1024, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START)
                .encode(Conversation.of(List.of(Message.user("The sky is"), Message.assistant(" blue.")), null));
        assertThat(tok.decode(r.ids(), false)).isEqualTo("The sky is blue.<|endoftext|>");
        assertThat(maskedRuns(tok, r)).containsExactly(" blue.<|endoftext|>");
    }

    /** A template's fault names the template, its line and the data file's line. */
    @Test
    void templateFaultsNameTheTemplateLineAndTheExample() {
        Tokenizer tok = TinyGpt2.tokenizer();
        Conversation c = InstructionFiles.parse("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}",
                InstructionFormat.CHAT, "data.jsonl", 7);
        var enc = new ConversationEncoder(ChatFormat.builtin("instruction", tok), 64, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START);
        assertThatThrownBy(() -> enc.encode(c)).isInstanceOf(PeftException.class)
                .hasMessageContaining("built-in chat template 'instruction'").hasMessageContaining("line 1")
                .hasMessageContaining("raise_exception: the instruction template has no role tool").hasMessageContaining("data.jsonl: line 7");
        ChatTemplate broken = ChatTemplate.of("tokenizer_config.json", "{% for m in messages %}\n{{ m.content }}\n{% if %}{% endfor %}", Map.of());
        var enc2 = new ConversationEncoder(ChatFormat.of("broken", broken, tok, Map.of()), 64, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START);
        Conversation ok = Conversation.of(List.of(Message.user("q"), Message.assistant("a")), null);
        assertThatThrownBy(() -> enc2.encode(ok)).isInstanceOf(PeftException.class).hasMessageStartingWith("tokenizer_config.json: chat_template line 3");
        Conversation noAnswer = InstructionFiles.parse("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}", InstructionFormat.CHAT, "data.jsonl", 2);
        assertThatThrownBy(() -> enc.encode(noAnswer)).hasMessage("data.jsonl: line 2: no assistant turn: nothing to learn (the loss is on the responses)");
        assertThatThrownBy(() -> ChatFormat.resolve(Fixtures.resource("tokenizers/gpt2"), null, tok))
                .hasMessageContaining("the model has no chat template").hasMessageContaining("instruction, plain, raw");
    }

    /**
     * The length policies on "abcdefghij\nXYZ&lt;eos&gt;\n" (16 tokens, one per character; the response XYZ&lt;eos&gt; at 11..14), by hand.
     */
    @Test
    void lengthPoliciesCutOrSkipNeverFail() {
        Tokenizer tok = TinyGpt2.tokenizer();
        Conversation c = Conversation.of(List.of(Message.user("abcdefghij"), Message.assistant("XYZ")), null);
        ChatFormat plain = ChatFormat.builtin("plain", tok);
        Encoded whole = new ConversationEncoder(plain, 64, LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START).encode(c);
        assertThat(tok.decode(whole.ids(), false)).isEqualTo("abcdefghij\nXYZ<|endoftext|>\n");
        assertThat(maskedRuns(tok, whole)).containsExactly("XYZ<|endoftext|>");
        record Case(LengthPolicy policy, int max, String kept, int targets) {
        }
        for (Case k : List.of(
                new Case(LengthPolicy.CUT_PROMPT_START, 12, "efghij\nXYZ<|endoftext|>\n", 4),   // prompt keeps min(11, max(12-5, 6)) = 7
                new Case(LengthPolicy.CUT_PROMPT_START, 8, "hij\nXYZ<|endoftext|>", 4),         // min(11, max(3, 4)) = 4
                new Case(LengthPolicy.CUT_PROMPT_START, 6, "ij\nXYZ", 3),                       // min(11, max(1, 3)) = 3: the EOS is lost
                new Case(LengthPolicy.CUT_END, 12, "abcdefghij\nX", 1),
                new Case(LengthPolicy.CUT_END, 11, null, 0),                                    // no response token left: skipped
                new Case(LengthPolicy.DROP, 15, null, 0))) {
            Encoded e = new ConversationEncoder(plain, k.max(), LossOn.RESPONSES, k.policy()).encode(c);
            if (k.kept() == null) {
                assertThat(e).as(k.toString()).isNull();
                continue;
            }
            assertThat(tok.decode(e.ids(), false)).as(k.toString()).isEqualTo(k.kept());
            assertThat(e.targets()).as(k.toString()).isEqualTo(k.targets());
            assertThat(e.truncated()).isTrue();
        }
        var data = new ConversationEncoder(plain, 12, LossOn.RESPONSES, LengthPolicy.CUT_END)
                .encodeAll(List.of(c, Conversation.of(List.of(Message.user("hi"), Message.assistant("yo")), null),
                        Conversation.of(List.of(Message.user("abcdefghijkl"), Message.assistant("Q")), null)));
        assertThat(data.examples()).hasSize(2);
        assertThat(data.truncated()).isEqualTo(1);
        assertThat(data.skipped()).isEqualTo(1);
        assertThat(LengthPolicy.parse("cut-prompt-start")).isEqualTo(LengthPolicy.CUT_PROMPT_START);
        assertThat(LengthPolicy.parse("DROP")).isEqualTo(LengthPolicy.DROP);
    }
}
