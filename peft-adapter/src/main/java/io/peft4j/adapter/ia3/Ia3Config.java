package io.peft4j.adapter.ia3;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;

/**
 * IA3 (Liu et al. 2022): learned vectors that rescale activations, initialised to ones. On a target
 * layer the output is scaled ({@code l ⊙ W x}); on a feed-forward target the input
 * ({@code W (l ⊙ x)}).
 *
 * @param targetModules      null: HF defaults (GPT-2 {@code c_attn}, {@code mlp.c_proj}; BERT {@code key},
 *                           {@code value}, {@code output.dense})
 * @param feedforwardModules the targets scaled on their input; null: HF defaults (GPT-2
 *                           {@code mlp.c_proj}; BERT {@code output.dense})
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

    public List<String> targetsFor(String modelType) {
        if (targetModules != null) return targetModules;
        return switch (modelType) {
            case "gpt2" -> List.of("c_attn", "mlp.c_proj");
            case "bert" -> List.of("key", "value", "output.dense");
            default -> throw new IllegalArgumentException("no default IA3 target_modules for model_type " + modelType + ": set them");
        };
    }

    public List<String> feedforwardFor(String modelType) {
        if (feedforwardModules != null) return feedforwardModules;
        if (targetModules != null) return List.of();
        return switch (modelType) {
            case "gpt2" -> List.of("mlp.c_proj");
            case "bert" -> List.of("output.dense");
            default -> List.of();
        };
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
        targetsFor(base.modelType()).forEach(n.putArray("target_modules")::add);
        feedforwardFor(base.modelType()).forEach(n.putArray("feedforward_modules")::add);
        if (layersToTransform == null) n.putNull("layers_to_transform");
        else layersToTransform.forEach(n.putArray("layers_to_transform")::add);
        n.put("fan_in_fan_out", base.modelType().equals("gpt2"));
        n.put("init_ia3_weights", true);
        n.putNull("modules_to_save");
        n.put("inference_mode", true);
        return n;
    }
}
