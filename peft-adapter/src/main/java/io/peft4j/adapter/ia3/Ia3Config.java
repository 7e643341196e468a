package io.peft4j.adapter.ia3;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Architecture;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;

/**
 * IA3 (Liu et al. 2022): learned vectors that rescale activations, initialised to ones. On a target
 * layer the output is scaled ({@code l ⊙ W x}); on a feed-forward target the input
 * ({@code W (l ⊙ x)}).
 *
 * @param targetModules      null: HF defaults (GPT-2 {@code c_attn}, {@code mlp.c_proj}; BERT {@code key},
 *                           {@code value}, {@code output.dense}; Llama {@code k_proj}, {@code v_proj},
 *                           {@code down_proj}: {@link Architecture#defaultTargets})
 * @param feedforwardModules the targets scaled on their input; null: HF defaults (GPT-2
 *                           {@code mlp.c_proj}; BERT {@code output.dense}; Llama {@code down_proj})
 */
public record Ia3Config(List<String> targetModules, List<String> feedforwardModules, List<Integer> layersToTransform,
                        String taskType) implements PeftConfig {
    public Ia3Config {
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        feedforwardModules = feedforwardModules == null ? null : List.copyOf(feedforwardModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    }

    public static Ia3Config defaults() {
        return new Ia3Config(null, null, null, null);
    }

    /** The targets on an architecture: the configured ones or HF PEFT's default for it ({@link Architecture#defaultTargets}). */
    public List<String> targetsFor(Architecture architecture) {
        if (targetModules != null) return targetModules;
        return architecture.defaultTargets("IA3");
    }

    /** The feed-forward targets: the configured ones, none beside configured targets, or the architecture's default. */
    public List<String> feedforwardFor(Architecture architecture) {
        if (feedforwardModules != null) return feedforwardModules;
        if (targetModules != null) return List.of();
        return architecture.ia3Feedforward();
    }

    @Override
    public String peftType() {
        return "IA3";
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("peft_type", "IA3");
        n.put("task_type", base.taskType(taskType));
        n.put("base_model_name_or_path", base.nameOrPath());
        targetsFor(base.architecture()).forEach(n.putArray("target_modules")::add);
        feedforwardFor(base.architecture()).forEach(n.putArray("feedforward_modules")::add);
        if (layersToTransform == null) n.putNull("layers_to_transform");
        else layersToTransform.forEach(n.putArray("layers_to_transform")::add);
        n.put("fan_in_fan_out", base.architecture().fanInFanOut());
        n.put("init_ia3_weights", true);
        n.putNull("modules_to_save");
        n.put("inference_mode", true);
        return n;
    }
}
