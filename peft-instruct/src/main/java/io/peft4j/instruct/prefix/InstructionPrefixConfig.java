package io.peft4j.instruct.prefix;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftConfig;

/**
 * An instruction prefix: prefix tuning whose keys and values are computed, per row, from the instruction that row
 * follows, by a small trained encoder over the frozen model's reading of the instruction. With {@code H [m, d]} the
 * final hidden states of the instruction's m tokens ({@link io.peft4j.instruct.encoding.InstructionEncoding}), P
 * prefix positions, L layers and encoder width k:
 *
 * <pre>
 * U   = softmax(Q Hᵀ / √d) H         [P, d]    P learned queries Q [P, d] pool the instruction (attention pooling)
 * G   = tanh(U W1ᵀ + b1)             [P, k]
 * KV  = G W2ᵀ + b2                   [P, 2·L·d] layer l's keys are columns [2ld, 2ld + d), its values the next d
 * </pre>
 *
 * (the last two lines are prefix tuning's MLP reparameterisation, Li and Liang 2021, fed with the pooled instruction
 * instead of a free embedding). Trainable parameters: {@code P·d + k·d + k + 2·L·d·k + 2·L·d}; on BERT-base with the
 * defaults (P 10, k 16) 333,328. The instruction is encoded once; the task input then attends to its prefix at every
 * layer, without the instruction's words in its own sequence. A peft4j method ({@code peft_type INSTRUCTION_PREFIX}):
 * rows without an {@link io.peft4j.instruct.encoding.InstructionBatch} instruction compute as the base model.
 *
 * @param numVirtualTokens  P, the prefix positions per layer
 * @param encoderHiddenSize k, the encoder's width
 */
public record InstructionPrefixConfig(int numVirtualTokens, int encoderHiddenSize) implements PeftConfig {
    /** The {@code peft_type} of its files. */
    public static final String PEFT_TYPE = "INSTRUCTION_PREFIX";

    public InstructionPrefixConfig {
        if (numVirtualTokens < 1) throw new IllegalArgumentException("num_virtual_tokens must be positive, not " + numVirtualTokens);
        if (encoderHiddenSize < 1) throw new IllegalArgumentException("encoder_hidden_size must be positive, not " + encoderHiddenSize);
    }

    /** P 10, k 16: on BERT-base about as many parameters as LoRA r 8 on query and value. */
    public static InstructionPrefixConfig defaults() {
        return new InstructionPrefixConfig(10, 16);
    }

    /** The trainable parameters on a base of {@code layers} layers and hidden size {@code d} with multi-head attention. */
    public long parameterCount(int layers, long d) {
        return parameterCount(layers, d, d);
    }

    /**
     * The trainable parameters on a base of {@code layers} layers, hidden size {@code d} and key/value width
     * {@code kv} (key/value heads x head width: less than d with grouped-query attention).
     */
    public long parameterCount(int layers, long d, long kv) {
        long p = numVirtualTokens, k = encoderHiddenSize, w = 2L * layers * kv;
        return p * d + k * d + k + w * k + w;
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("peft_type", PEFT_TYPE);
        n.put("base_model_name_or_path", base.nameOrPath());
        n.put("num_virtual_tokens", numVirtualTokens);
        n.put("encoder_hidden_size", encoderHiddenSize);
        n.put("num_layers", base.layers());
        n.put("token_dim", base.hidden());
        n.put("num_attention_heads", base.heads());
        return n;
    }
}
