package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.model.Architecture;
import io.peft4j.core.model.ModelConfig;

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

    /**
     * What an adapter file records about the base model it was made for.
     *
     * @param architecture  the base's family (its defaults, its task type, its AdapterHub names)
     * @param nameOrPath    {@code base_model_name_or_path}
     * @param keyValueHeads key/value heads (fewer than {@code heads} with grouped-query attention)
     * @param headDim       width of one attention head
     */
    record BaseInfo(Architecture architecture, String nameOrPath, int layers, long hidden, int heads, int keyValueHeads, int headDim,
                    long vocabSize) {
        /** The record of a base with config {@code c}, saved as {@code nameOrPath}. */
        public static BaseInfo of(ModelConfig c, String nameOrPath) {
            return new BaseInfo(c.architecture(), nameOrPath, c.layers(), c.hidden(), c.heads(), c.keyValueHeads(), c.headDim(), c.vocabSize());
        }

        /** Hugging Face's {@code model_type} of the base. */
        public String modelType() {
            return architecture.modelType();
        }

        /** Width of one position's keys (or values): {@code keyValueHeads · headDim}. */
        public long keyValueWidth() {
            return (long) keyValueHeads * headDim;
        }

        /** {@code configured}, or the task HF PEFT would record for this architecture (decoders CAUSAL_LM, encoders SEQ_CLS). */
        public String taskType(String configured) {
            return configured != null ? configured : architecture.taskType();
        }
    }
}
