package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A PEFT method's configuration, as a record per method ({@code LoraConfig}, {@code PromptTuningConfig},
 * ...). {@link #toJson} writes the fields Hugging Face PEFT (or, for bottleneck adapters, AdapterHub)
 * writes into {@code adapter_config.json}.
 */
public interface PeftConfig {
    /** Hugging Face PEFT's {@code peft_type} ({@code LORA}, {@code IA3}, ...) or {@code BOTTLENECK}. */
    String peftType();

    /** The {@code adapter_config.json} content for an adapter on {@code base}. */
    ObjectNode toJson(BaseInfo base);

    /** What an adapter file records about the base model it was made for. */
    record BaseInfo(String modelType, String nameOrPath, int layers, long hidden, int heads, long vocabSize) {
        /** {@code configured}, or the task HF PEFT would record for this architecture (decoders CAUSAL_LM, encoders SEQ_CLS). */
        public String taskType(String configured) {
            return configured != null ? configured : modelType.equals("gpt2") ? "CAUSAL_LM" : "SEQ_CLS";
        }
    }
}
