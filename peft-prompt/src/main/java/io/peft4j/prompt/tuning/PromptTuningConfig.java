package io.peft4j.prompt.tuning;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PromptLearning;

/**
 * Prompt tuning (Lester et al. 2021): {@code n} trainable virtual-token embeddings prepended to the input
 * embeddings. Init {@link Init#RANDOM} (N(0, 1), as {@code nn.Embedding}), {@link Init#SAMPLE_VOCAB}
 * (rows of random vocabulary tokens) or {@link Init#TEXT} (the embeddings of {@code initText}'s tokens,
 * repeated or truncated to n; the tokenizer is read from {@code tokenizerNameOrPath}).
 */
public record PromptTuningConfig(int numVirtualTokens, Init init, String initText, String tokenizerNameOrPath, String taskType,
                                 PromptLearning.RecordedBase recorded) implements PeftConfig {
    public enum Init { RANDOM, SAMPLE_VOCAB, TEXT }

    public PromptTuningConfig {
        if (numVirtualTokens <= 0) throw new IllegalArgumentException("num_virtual_tokens must be positive, not " + numVirtualTokens);
        if (init == Init.TEXT && (initText == null || initText.isEmpty() || tokenizerNameOrPath == null)) {
            throw new IllegalArgumentException("TEXT initialisation needs prompt_tuning_init_text and tokenizer_name_or_path");
        }
        recorded = recorded == null ? PromptLearning.RecordedBase.NONE : recorded;
    }

    public static PromptTuningConfig random(int n) {
        return new PromptTuningConfig(n, Init.RANDOM, null, null, null, null);
    }

    public static PromptTuningConfig sampleVocab(int n) {
        return new PromptTuningConfig(n, Init.SAMPLE_VOCAB, null, null, null, null);
    }

    /** Initialised from {@code text} tokenized by the tokenizer in {@code tokenizer} (a model directory or known model name). */
    public static PromptTuningConfig text(int n, String text, String tokenizer) {
        return new PromptTuningConfig(n, Init.TEXT, text, tokenizer, null, null);
    }

    @Override
    public String peftType() {
        return "PROMPT_TUNING";
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = PromptLearning.json("PROMPT_TUNING", taskType, numVirtualTokens, base);
        n.put("prompt_tuning_init", init.name());
        if (initText == null) n.putNull("prompt_tuning_init_text");
        else n.put("prompt_tuning_init_text", initText);
        if (tokenizerNameOrPath == null) n.putNull("tokenizer_name_or_path");
        else n.put("tokenizer_name_or_path", tokenizerNameOrPath);
        n.putNull("tokenizer_kwargs");
        return n;
    }
}
