package io.peft4j.prompt.ptuning;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.PromptLearning;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * P-tuning on the embeddings hook site. A created adapter trains its encoder; {@link Adapter#stateDict()}
 * exports the encoder's output as {@code prompt_embeddings} {@code [n, d]}; a loaded adapter uses that
 * table and has no encoder.
 */
public final class PTuningMethod implements PeftMethod {
    @Override
    public String peftType() {
        return "P_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PTuningConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        PTuningConfig.Encoder e = f.enumValue("encoder_reparameterization_type", PTuningConfig.Encoder.class, PTuningConfig.Encoder.MLP);
        Integer hidden = f.optionalPositiveInt("encoder_hidden_size");
        return new PTuningConfig(f.positiveInt("num_virtual_tokens", null), e, hidden == null ? 1 : hidden, f.positiveInt("encoder_num_layers", 2),
                f.number("encoder_dropout", 0, 0, 0.999), f.text("task_type", null), PromptLearning.RecordedBase.read(f));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new PTuningAdapter(model, (PTuningConfig) config, name, seed, false);
    }

    @Override
    public Adapter createForLoading(TransformerModel model, PeftConfig config, String name) {
        return new PTuningAdapter(model, (PTuningConfig) config, name, 0, true);
    }

    static final class PTuningAdapter extends Adapter {
        private PromptEncoder encoder;
        private Tensor table;

        PTuningAdapter(TransformerModel model, PTuningConfig cfg, String name, long seed, boolean tableOnly) {
            super(name, cfg, model);
            cfg.recorded().check(model);
            int n = cfg.numVirtualTokens();
            long d = model.config().hidden();
            if (tableOnly) {
                table = parameter("prompt_embeddings", Init.zeros(model.dataType(), n, d));
            } else {
                encoder = new PromptEncoder(cfg, d, model.dataType(), seed(seed, 0));
                encoder.parameters().forEach((k, v) -> parameter("prompt_encoder." + k, v.value()));
                // the adapter's tensors are the encoder's: rebuild it on them
                encoder.parameters().replaceAll((k, v) -> parameters().get("prompt_encoder." + k));
            }
            install(model.hooks().sites(SiteKind.EMBEDDINGS).get(0).name(),
                    PromptLearning.prepending(this, ctx -> table != null ? table : encoder.forward(ctx.training(), ctx.seed())));
        }

        /** The prompt the adapter currently produces, {@code [n, d]}. */
        INDArray promptTable() {
            return table != null ? table.value() : encoder.forward(false, 0).value();
        }

        @Override
        protected Map<String, INDArray> savedParameters() {
            Map<String, INDArray> m = new LinkedHashMap<>();
            m.put("prompt_embeddings", promptTable());
            return m;
        }

        /** Loading a table drops the encoder: the adapter then serves (and can go on training) the table. */
        @Override
        protected void load(String key, INDArray value) {
            if (table == null) {
                clearParameters();
                encoder = null;
                table = parameter("prompt_embeddings", value.dup());
            } else {
                table.value().assign(value);
            }
        }
    }
}
