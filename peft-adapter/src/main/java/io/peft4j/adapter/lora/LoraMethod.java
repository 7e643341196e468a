package io.peft4j.adapter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.Mergeable;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.TargetModules;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Installs LoRA on the selected linear hook sites and reads/writes Hugging Face PEFT's LoRA files. */
public final class LoraMethod implements PeftMethod {
    @Override
    public String peftType() {
        return "LORA";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        if (f.bool("use_dora", false)) throw io.peft4j.core.PeftException.inFile(file, "field 'use_dora' is true: DoRA is not supported");
        for (String pattern : new String[]{"rank_pattern", "alpha_pattern"}) {
            JsonNode p = json.path(pattern);
            if (p.isObject() && p.size() > 0) {
                throw io.peft4j.core.PeftException.inFile(file, "field '" + pattern + "' sets per-module values " + p
                        + ": not supported (every module uses r and lora_alpha)");
            }
        }
        String bias = f.text("bias", "none");
        if (!bias.equals("none")) throw io.peft4j.core.PeftException.inFile(file, "field 'bias' is '" + bias + "': only 'none' is supported");
        return new LoraConfig(f.positiveInt("r", 8), f.number("lora_alpha", 8, 0, Double.MAX_VALUE), f.number("lora_dropout", 0, 0, 0.999),
                f.strings("target_modules"), f.ints("layers_to_transform"), f.bool("use_rslora", false), f.text("task_type", null));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new LoraAdapter(model, (LoraConfig) config, name, seed);
    }

    /**
     * LoRA's A and B on every target, keyed {@code <module>.lora_A.weight} / {@code <module>.lora_B.weight}. Merging adds
     * {@code s·(B·A)ᵀ = s·Aᵀ·Bᵀ} to each target's {@code [in, out]} weight ({@code s·B·A} in Hugging Face's {@code [out, in]}).
     */
    static final class LoraAdapter extends Adapter implements Mergeable {
        private final List<String> targets = new ArrayList<>();

        LoraAdapter(TransformerModel model, LoraConfig cfg, String name, long seed) {
            super(name, cfg, model);
            List<HookSite> sites = TargetModules.select(model, cfg.targetsFor(model.architecture()), cfg.layersToTransform());
            int i = 0;
            for (HookSite s : sites) {
                Tensor a = moduleParameter(s.name() + ".lora_A.weight", Init.kaimingUniform(seed(seed, i), s.in(), model.dataType(), cfg.r(), s.in()));
                Tensor b = moduleParameter(s.name() + ".lora_B.weight", Init.zeros(model.dataType(), s.out(), cfg.r()));
                install(s.name(), new LoraLayer(a, b, cfg.scaling(), cfg.dropout(), i, this::rows));
                targets.add(s.name());
                i++;
            }
        }

        /** The hook sites this adapter is installed on, in model order. */
        List<String> targets() {
            return java.util.Collections.unmodifiableList(targets);
        }

        @Override
        public void merge(LinearWeights weights) {
            for (String t : targets) weights.weight(t).addi(delta(t));
        }

        @Override
        public void unmerge(LinearWeights weights) {
            for (String t : targets) weights.weight(t).subi(delta(t));
        }

        /** {@code s·Aᵀ·Bᵀ}, {@code [in, out]}. */
        private org.nd4j.linalg.api.ndarray.INDArray delta(String target) {
            var a = parameters().get(target + ".lora_A.weight").value();
            var b = parameters().get(target + ".lora_B.weight").value();
            return a.transpose().mmul(b.transpose()).muli(((LoraConfig) config()).scaling());
        }
    }
}
