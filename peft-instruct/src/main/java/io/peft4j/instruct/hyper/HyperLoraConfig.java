package io.peft4j.instruct.hyper;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;

/**
 * A hypernetwork that writes a LoRA adapter from an instruction (Hypter, Ye and Ren 2021; HINT, Ivison et al. 2023;
 * shared across layers with a per-site embedding as HyperFormer, Mahabadi et al. 2021). With {@code e} the
 * instruction's embedding (the mean of the frozen model's final hidden states over its tokens), for each target
 * linear layer s of width {@code in -> out}, hidden size k and rank r:
 *
 * <pre>
 * z_s = tanh(W_e e + b_e + c_s)                     [k]        c_s a learned embedding of site s
 * A_s = reshape(W_A z_s + b_A, [r, in])                        one W_A, b_A per (in, out) shape, shared by the sites
 * B_s = reshape(W_B z_s + b_B, [out, r])                       W_B, b_B start at 0: B_s = 0, the base model
 * h   = W x + (alpha / r) · B_s A_s x                          LoRA with the generated A_s, B_s
 * </pre>
 *
 * Only the hypernetwork trains, across tasks; a held-out task gets its adapter from its instruction alone, and that
 * adapter can be written as an ordinary LoRA adapter ({@link HyperLoraMethod.HyperLora#exportLora}). Trainable
 * parameters: {@code k·d + k + S·k} plus, per shape, {@code (r·in + out·r)·(k + 1)}; on BERT-base with the defaults
 * (r 8, k 32, query and value) 430,880. A peft4j method ({@code peft_type HYPER_LORA}).
 *
 * @param r             the generated LoRA's rank
 * @param alpha         its {@code lora_alpha} (scaling {@code alpha / r})
 * @param targetModules the target linear layers by module name; null: the architecture's LoRA default (BERT query,
 *                      value; GPT-2 c_attn)
 * @param hiddenSize    k, the hypernetwork's width
 */
public record HyperLoraConfig(int r, double alpha, List<String> targetModules, int hiddenSize) implements PeftConfig {
    /** The {@code peft_type} of its files. */
    public static final String PEFT_TYPE = "HYPER_LORA";

    public HyperLoraConfig {
        if (r < 1) throw new IllegalArgumentException("rank r must be positive, not " + r);
        if (!(alpha > 0)) throw new IllegalArgumentException("lora_alpha must be positive, not " + alpha);
        if (hiddenSize < 1) throw new IllegalArgumentException("hyper_hidden_size must be positive, not " + hiddenSize);
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
    }

    /** r 8, alpha 16, the architecture's default targets, k 32. */
    public static HyperLoraConfig defaults() {
        return new HyperLoraConfig(8, 16, null, 32);
    }

    /** This config with rank {@code r}. */
    public HyperLoraConfig withR(int r) {
        return new HyperLoraConfig(r, alpha, targetModules, hiddenSize);
    }

    /** This config with {@code lora_alpha} {@code alpha}. */
    public HyperLoraConfig withAlpha(double alpha) {
        return new HyperLoraConfig(r, alpha, targetModules, hiddenSize);
    }

    /** This config targeting the linear layers {@code targets}. */
    public HyperLoraConfig withTargetModules(String... targets) {
        return new HyperLoraConfig(r, alpha, List.of(targets), hiddenSize);
    }

    /** This config with hypernetwork width {@code k}. */
    public HyperLoraConfig withHiddenSize(int k) {
        return new HyperLoraConfig(r, alpha, targetModules, k);
    }

    /** The factor on {@code B A x}. */
    public double scaling() {
        return alpha / r;
    }

    /** The targets on an architecture: the configured ones or LoRA's default for it. */
    public List<String> targetsFor(io.peft4j.core.model.Architecture architecture) {
        if (targetModules != null) return targetModules;
        return architecture.defaultTargets("LORA");
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
        n.put("r", r);
        if (alpha == Math.rint(alpha)) n.put("lora_alpha", (long) alpha);
        else n.put("lora_alpha", alpha);
        var t = n.putArray("target_modules");
        targetsFor(base.architecture()).forEach(t::add);
        n.put("hyper_hidden_size", hiddenSize);
        n.put("instruction_dim", base.hidden());
        return n;
    }
}
