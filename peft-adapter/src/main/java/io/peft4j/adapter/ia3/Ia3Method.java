package io.peft4j.adapter.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.TargetModules;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

/** Installs IA3 scaling vectors and reads/writes Hugging Face PEFT's IA3 files ({@code <module>.ia3_l}). */
public final class Ia3Method implements PeftMethod {
    @Override
    public String peftType() {
        return "IA3";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return Ia3Config.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        return new Ia3Config(f.strings("target_modules"), f.strings("feedforward_modules"), f.ints("layers_to_transform"), f.text("task_type", null));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new Ia3Adapter(model, (Ia3Config) config, name);
    }

    static final class Ia3Adapter extends Adapter {
        Ia3Adapter(TransformerModel model, Ia3Config cfg, String name) {
            super(name, cfg, model);
            List<String> ff = cfg.feedforwardFor(model.architecture());
            List<String> targets = cfg.targetsFor(model.architecture());
            for (String f : ff) {
                if (!targets.contains(f)) throw new IllegalArgumentException("feedforward_modules entry '" + f + "' is not in target_modules " + targets);
            }
            for (HookSite s : TargetModules.select(model, targets, cfg.layersToTransform())) {
                boolean feedforward = TargetModules.matchesAny(s, ff);
                long[] shape = feedforward ? new long[]{1, s.in()} : new long[]{s.out(), 1};
                Tensor l = moduleParameter(s.name() + ".ia3_l", Init.ones(model.dataType(), shape));
                install(s.name(), new Ia3Layer(l, feedforward, this::rows));
            }
        }
    }
}
