package io.peft4j.adapter.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;

import java.nio.file.Path;

/**
 * Installs bottleneck adapters on the sublayer sites and reads/writes AdapterHub's files:
 * {@code adapter_config.json} and {@code pytorch_adapter.safetensors} with keys such as
 * {@code bert.encoder.layer.0.output.adapters.<name>.adapter_down.0.weight} (BERT) or
 * {@code transformer.h.0.output_adapters.adapters.<name>.adapter_up.weight} (GPT-2) or
 * {@code model.layers.0.attention_adapters.adapters.<name>.adapter_up.weight} (the Llama family).
 */
public final class BottleneckMethod implements PeftMethod {
    @Override
    public String peftType() {
        return "BOTTLENECK";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return BottleneckConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        JsonNode c = json.get("config");
        ConfigFields f = new ConfigFields(c, file);
        String archName = f.text("architecture", "bottleneck");
        if (!archName.equals("bottleneck")) throw PeftException.inFile(file, "field 'config.architecture' is '" + archName + "': only bottleneck adapters are read");
        boolean parallel = f.bool("is_parallel", false), mh = f.bool("mh_adapter", false), out = f.bool("output_adapter", true);
        Architecture arch = parallel ? Architecture.PARALLEL : mh ? Architecture.HOUSLBY : Architecture.PFEIFFER;
        // AdapterHub's seq_bn reads LN(x + h), double_seq_bn h and par_bn x; other combinations are other adapters
        boolean lnBefore = f.bool("original_ln_before", arch == Architecture.PFEIFFER);
        if (lnBefore != (arch == Architecture.PFEIFFER)) {
            throw PeftException.inFile(file, "field 'config.original_ln_before' is " + lnBefore + ": with mh_adapter " + mh + " and is_parallel " + parallel
                    + " only " + !lnBefore + " (AdapterHub's " + arch.hubName() + ") is supported");
        }
        return new BottleneckConfig(arch, mh, out, f.positiveInt("reduction_factor", 16), f.text("non_linearity", "relu"),
                f.number("scaling", 1.0, -1e6, 1e6), f.number("dropout", 0, 0, 0.999), f.ints("leave_out"));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new BottleneckAdapter(model, (BottleneckConfig) config, name, seed);
    }

    static final class BottleneckAdapter extends Adapter {
        private final java.util.Map<String, BottleneckLayer> layers = new java.util.LinkedHashMap<>();

        BottleneckAdapter(TransformerModel model, BottleneckConfig cfg, String name, long seed) {
            super(name, cfg, model);
            long d = model.config().hidden();
            if (d % cfg.reductionFactor() != 0 && d / cfg.reductionFactor() == 0) {
                throw new IllegalArgumentException("reduction_factor " + cfg.reductionFactor() + " leaves no units of hidden size " + d);
            }
            long m = d / cfg.reductionFactor();
            int i = 0;
            for (HookSite s : model.hooks().sites()) {
                boolean want = (s.kind() == SiteKind.ATTENTION_OUTPUT && cfg.mhAdapter()) || (s.kind() == SiteKind.FFN_OUTPUT && cfg.outputAdapter());
                if (!want || cfg.leaveOut().contains(s.layer())) continue;
                String k = moduleOf(s) + ".";
                boolean mam = cfg.architecture() == Architecture.PARALLEL;
                var type = model.dataType();
                Tensor down = moduleParameter(k + "adapter_down.0.weight",
                        mam ? Init.kaimingUniform(seed(seed, 2 * i), d, type, m, d) : Init.normal(seed(seed, 2 * i), 0.02, type, m, d));
                Tensor downBias = moduleParameter(k + "adapter_down.0.bias", Init.zeros(type, m));
                Tensor up = moduleParameter(k + "adapter_up.weight", mam ? Init.zeros(type, d, m) : Init.normal(seed(seed, 2 * i + 1), 0.02, type, d, m));
                Tensor upBias = moduleParameter(k + "adapter_up.bias", Init.zeros(type, d));
                BottleneckLayer layer = new BottleneckLayer(cfg, down, downBias, up, upBias, i, this::rows);
                install(s.name(), layer);
                layers.put(s.name(), layer);
                i++;
            }
        }

        /** The adapter's layer on {@code site}, or null when it has none there. */
        BottleneckLayer layer(String site) {
            return layers.get(site);
        }

        /**
         * AdapterHub's module for a site, without the adapter name: where {@code adapters.<name>} is inserted (the
         * architecture declares it: GPT-2 {@code h.<i>.attention_adapters}, BERT the sublayer's own module).
         */
        private String moduleOf(HookSite s) {
            return model.architecture().adapterHubModule().of(s);
        }

        /** AdapterHub keys carry no {@code base_model.model.} and do carry the adapter's name. */
        @Override
        protected String fileKey(String key) {
            int cut = key.indexOf(".adapter_");
            return model.modulePrefix() + key.substring(0, cut) + ".adapters." + name() + key.substring(cut);
        }

        @Override
        protected String stateKey(String fileKey) {
            String k = fileKey.replaceFirst("\\.adapters\\.[^.]+\\.adapter_", ".adapter_");
            return super.stateKey(k);
        }
    }
}
