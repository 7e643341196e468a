package io.peft4j.prompt.ptuning;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PromptLearning;

/**
 * P-tuning (Liu et al. 2021): virtual tokens produced by a prompt encoder over trainable embeddings,
 * prepended to the input embeddings. {@link Encoder#MLP}: Linear(d, h) → ReLU → Linear(h, h) → ReLU →
 * Linear(h, d); {@link Encoder#LSTM}: a bidirectional LSTM ({@code encoderNumLayers} layers, hidden h)
 * then Linear(2h, 2h) → ReLU → Linear(2h, d). For inference only the encoder's output table is saved
 * ({@code prompt_embeddings}), as Hugging Face PEFT does.
 */
public record PTuningConfig(int numVirtualTokens, Encoder encoder, int encoderHiddenSize, int encoderNumLayers, double encoderDropout,
                            String taskType, PromptLearning.RecordedBase recorded) implements PeftConfig {
    public enum Encoder { MLP, LSTM }

    public PTuningConfig {
        if (numVirtualTokens <= 0) throw new IllegalArgumentException("num_virtual_tokens must be positive, not " + numVirtualTokens);
        if (encoderHiddenSize <= 0) throw new IllegalArgumentException("encoder_hidden_size must be positive, not " + encoderHiddenSize);
        if (encoderNumLayers <= 0) throw new IllegalArgumentException("encoder_num_layers must be positive, not " + encoderNumLayers);
        if (encoderDropout < 0 || encoderDropout >= 1) throw new IllegalArgumentException("encoder_dropout " + encoderDropout + " outside [0, 1)");
        recorded = recorded == null ? PromptLearning.RecordedBase.NONE : recorded;
    }

    /** An MLP encoder of hidden size {@code h}. */
    public static PTuningConfig mlp(int n, int h) {
        return new PTuningConfig(n, Encoder.MLP, h, 2, 0.0, null, null);
    }

    /** A two-layer bidirectional LSTM encoder of hidden size {@code h}. */
    public static PTuningConfig lstm(int n, int h) {
        return new PTuningConfig(n, Encoder.LSTM, h, 2, 0.0, null, null);
    }

    @Override
    public String peftType() {
        return "P_TUNING";
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = PromptLearning.json("P_TUNING", taskType, numVirtualTokens, base);
        n.put("encoder_reparameterization_type", encoder.name());
        n.put("encoder_hidden_size", encoderHiddenSize);
        n.put("encoder_num_layers", encoderNumLayers);
        n.put("encoder_dropout", encoderDropout);
        return n;
    }
}
