package io.peft4j.adapter.ia3;

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

    /**
     * IA3's vectors on every target. Merging scales a target's {@code [in, out]} weight: an output-scaling target's
     * columns and its bias by {@code l} ({@code (x·W + b)·l}), a feed-forward target's rows ({@code (x·l)·W + b}, bias
     * unchanged), as Hugging Face PEFT's {@code IA3Layer.merge} scales {@code [out, in]} weights' rows or columns.
     */
    static final class Ia3Adapter extends Adapter implements Mergeable {
        private final List<String> sites = new ArrayList<>();
        private final List<Boolean> scalesInput = new ArrayList<>();

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
                sites.add(s.name());
                scalesInput.add(feedforward);
            }
        }

        @Override
        public void merge(LinearWeights weights) {
            for (int i = 0; i < sites.size(); i++) scale(weights, i, false);
        }

        /** Divides by the vectors; a zero entry (the merged weights lost that row or column) cannot be undone. */
        @Override
        public void unmerge(LinearWeights weights) {
            for (String site : sites) {
                var l = parameters().get(site + ".ia3_l").value();
                if (l.eq(0).any()) throw new IllegalStateException("IA3 vector '" + site + ".ia3_l' has a zero entry: its merge cannot be undone");
            }
            for (int i = 0; i < sites.size(); i++) scale(weights, i, true);
        }

        private void scale(LinearWeights weights, int i, boolean divide) {
            String t = sites.get(i);
            var l = parameters().get(t + ".ia3_l").value();
            var w = weights.weight(t);
            if (scalesInput.get(i)) {
                var col = l.reshape(l.length(), 1);          // [in, 1]: scales W's rows
                if (divide) w.diviColumnVector(col);
                else w.muliColumnVector(col);
            } else {
                var row = l.reshape(1, l.length());          // [1, out]: scales W's columns and the bias
                if (divide) w.diviRowVector(row);
                else w.muliRowVector(row);
                var b = weights.bias(t);
                if (b != null) {
                    var v = l.reshape(b.shape());
                    if (divide) b.divi(v);
                    else b.muli(v);
                }
            }
        }
    }
}
