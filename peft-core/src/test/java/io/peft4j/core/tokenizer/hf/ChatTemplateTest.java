package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Llama 3's and Qwen3's chat templates against Hugging Face's Jinja ({@code @huggingface/jinja} 0.5.11: reference-chat*.jsonl). */
class ChatTemplateTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen3"})
    void renderingAndIdsEqualHuggingFace(String name) {
        Tokenizer tok = HfTokenizerTest.tok(name);
        ChatTemplate chat = ChatTemplate.fromConfig(RealTokenizers.dir(name).resolve("tokenizer_config.json"));
        List<String> wrong = new ArrayList<>();
        int n = 0;
        for (String file : List.of("reference-chat.jsonl", "reference-chat-extended.jsonl")) {
            for (JsonNode c : RealTokenizers.reference(name, file)) {
                n++;
                @SuppressWarnings("unchecked")
                List<Map<String, ?>> messages = Json.MAPPER.convertValue(c.get("messages"), List.class);
                Map<String, Object> extra = new LinkedHashMap<>();
                for (String k : List.of("tools", "enable_thinking")) if (c.has(k)) extra.put(k, Json.MAPPER.convertValue(c.get(k), Object.class));
                String text = chat.render(messages, c.get("add_generation_prompt").asBoolean(), extra);
                if (!text.equals(c.get("text").asText())) wrong.add(file + " text:\n" + text + "\n--- expected:\n" + c.get("text").asText());
                else if (!java.util.Arrays.equals(tok.encodeText(text), Fixtures.ints(c.get("ids")))) wrong.add(file + " ids: " + text);
            }
        }
        assertThat(n).isEqualTo(12);
        assertThat(wrong).as(name).isEmpty();
    }
}
