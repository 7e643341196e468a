package io.peft4j.adapter.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Architecture;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;

/**
 * LoRA (Hu et al. 2021): {@code h = W x + s · B A x} with {@code s = alpha / r}, or {@code alpha / √r}
 * with rsLoRA. B starts at zero, A Kaiming-uniform, so the adapted model starts as the base model.
 *
 * @param r                 rank
 * @param alpha             {@code lora_alpha}
 * @param dropout           dropout on the adapter's input while training
 * @param targetModules     linear layers by HF module name ({@code c_attn}, {@code query}), or
 *                          {@code all-linear}; null means the architecture's default (GPT-2 {@code c_attn},
 *                          BERT {@code query}, {@code value}, the Llama family {@code q_proj}, {@code v_proj})
 * @param layersToTransform restrict to these layer indices; null for all
 * @param useRslora         rank-stabilised scaling {@code alpha/√r}
 * @param taskType          HF {@code task_type} to record, or null for the architecture's default
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules, List<Integer> layersToTransform,
                         boolean useRslora, String taskType) implements PeftConfig {
    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be positive, not " + r);
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("lora_dropout " + dropout + " outside [0, 1)");
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    }

    /** Hugging Face PEFT's defaults: r 8, alpha 8, no dropout, the architecture's default targets. */
    public static LoraConfig defaults() {
        return new LoraConfig(8, 8, 0.0, null, null, false, null);
    }

    public LoraConfig withR(int r) {
        return new LoraConfig(r, alpha, dropout, targetModules, layersToTransform, useRslora, taskType);
    }

    public LoraConfig withAlpha(double alpha) {
        return new LoraConfig(r, alpha, dropout, targetModules, layersToTransform, useRslora, taskType);
    }

    public LoraConfig withDropout(double dropout) {
        return new LoraConfig(r, alpha, dropout, targetModules, layersToTransform, useRslora, taskType);
    }

    public LoraConfig withTargetModules(String... targets) {
        return new LoraConfig(r, alpha, dropout, List.of(targets), layersToTransform, useRslora, taskType);
    }

    public LoraConfig withLayers(Integer... layers) {
        return new LoraConfig(r, alpha, dropout, targetModules, List.of(layers), useRslora, taskType);
    }

    public LoraConfig withRslora(boolean on) {
        return new LoraConfig(r, alpha, dropout, targetModules, layersToTransform, on, taskType);
    }

    /** The factor on {@code B A x}. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** The targets on an architecture: the configured ones or HF PEFT's default for it ({@link Architecture#defaultTargets}). */
    public List<String> targetsFor(Architecture architecture) {
        if (targetModules != null) return targetModules;
        return architecture.defaultTargets("LORA");
    }

    @Override
    public String peftType() {
        return "LORA";
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("peft_type", "LORA");
        n.put("task_type", base.taskType(taskType));
        n.put("base_model_name_or_path", base.nameOrPath());
        n.put("r", r);
        if (alpha == Math.rint(alpha)) n.put("lora_alpha", (long) alpha);
        else n.put("lora_alpha", alpha);
        n.put("lora_dropout", dropout);
        var t = n.putArray("target_modules");
        targetsFor(base.architecture()).forEach(t::add);
        if (layersToTransform == null) n.putNull("layers_to_transform");
        else layersToTransform.forEach(n.putArray("layers_to_transform")::add);
        n.put("fan_in_fan_out", base.architecture().fanInFanOut());
        n.put("bias", "none");
        n.put("use_rslora", useRslora);
        n.put("use_dora", false);
        n.put("init_lora_weights", true);
        n.putNull("modules_to_save");
        n.putObject("rank_pattern");
        n.putObject("alpha_pattern");
        n.put("inference_mode", true);
        return n;
    }
}
