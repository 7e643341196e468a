package io.peft4j.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.PromptLearning;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prefix tuning on every attention-prefix hook site (BERT, GPT-2 and the Llama family alike; a decoder's
 * key/value cache keeps the prefix during generation). Files: {@code prompt_embeddings} {@code [n, 2·L·w]} with w
 * the key/value width: the hidden size, or with grouped-query attention {@code num_key_value_heads · head_dim}, as
 * HF PEFT sizes prefixes.
 */
public final class PrefixTuningMethod implements PeftMethod {
    @Override
    public String peftType() {
        return "PREFIX_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PrefixTuningConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        boolean proj = f.bool("prefix_projection", false);
        return new PrefixTuningConfig(f.positiveInt("num_virtual_tokens", null), proj, proj ? f.positiveInt("encoder_hidden_size", null) : 0,
                f.text("task_type", null), PromptLearning.RecordedBase.read(f));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new PrefixAdapter(model, (PrefixTuningConfig) config, name, seed, false);
    }

    @Override
    public Adapter createForLoading(TransformerModel model, PeftConfig config, String name) {
        return new PrefixAdapter(model, (PrefixTuningConfig) config, name, 0, true);
    }

    static final class PrefixAdapter extends Adapter implements PrefixHook {
        private final int n, heads, layers;
        private final long d;                        // the key/value width of one position
        private Tensor table;                        // [n, 2Ld] (flat form)
        private Tensor emb, w1, b1, w2, b2;          // reparameterization (training form)

        PrefixAdapter(TransformerModel model, PrefixTuningConfig cfg, String name, long seed, boolean tableOnly) {
            super(name, cfg, model);
            cfg.recorded().checkKeyValues(model);
            n = cfg.numVirtualTokens();
            d = model.config().keyValueWidth();          // HF PEFT's token_dim: the key/value width
            heads = model.config().keyValueHeads();
            layers = model.config().layers();
            var type = model.dataType();
            long width = 2L * layers * d;
            if (cfg.prefixProjection() && !tableOnly) {
                long h = cfg.encoderHiddenSize();
                emb = parameter("prefix_encoder.embedding.weight", Init.normal(seed(seed, 0), 1.0, type, n, d));
                w1 = parameter("prefix_encoder.transform.0.weight", Init.kaimingUniform(seed(seed, 1), d, type, h, d));
                b1 = parameter("prefix_encoder.transform.0.bias", Init.uniform(seed(seed, 2), 1.0 / Math.sqrt(d), type, h));
                w2 = parameter("prefix_encoder.transform.2.weight", Init.kaimingUniform(seed(seed, 3), h, type, width, h));
                b2 = parameter("prefix_encoder.transform.2.bias", Init.uniform(seed(seed, 4), 1.0 / Math.sqrt(h), type, width));
            } else {
                table = parameter("prompt_embeddings", tableOnly ? Init.zeros(type, n, width) : Init.normal(seed(seed, 0), 1.0, type, n, width));
            }
            for (var s : model.hooks().sites(SiteKind.ATTENTION_PREFIX)) install(s.name(), this);
        }

        @Override
        public int length(ForwardContext ctx) {
            return rows(ctx).none() ? 0 : n;
        }

        @Override
        public boolean[] appliesTo(ForwardContext ctx) {
            return rows(ctx).flags();
        }

        /** Columns {@code [start, start + d)} of the table: computed from the reparameterization or read from the flat table. */
        private Tensor columns(long start) {
            if (table != null) return Ops.narrow(table, 1, start, d);
            Tensor hidden = Ops.tanh(Ops.linearT(emb, w1, b1));
            return Ops.linearT(hidden, Ops.narrow(w2, 0, start, d), Ops.narrow(b2, 0, start, d));
        }

        @Override
        public KeyValue prefix(int layer, ForwardContext ctx) {
            return new KeyValue(headsView(columns(2L * layer * d)), headsView(columns((2L * layer + 1) * d)));
        }

        /** {@code [n, d] -> [1, heads, n, head_dim]}: the same for every row. */
        private Tensor headsView(Tensor x) {
            long dh = d / heads;
            Tensor t = Ops.permute(Ops.reshape(x, n, heads, dh), 1, 0, 2);
            return Ops.reshape(t, 1, heads, n, dh);
        }

        @Override
        protected Map<String, INDArray> savedParameters() {
            Map<String, INDArray> m = new LinkedHashMap<>();
            if (table != null) {
                m.put("prompt_embeddings", table.value());
            } else {
                Tensor[] cols = new Tensor[2 * layers];
                for (int i = 0; i < cols.length; i++) cols[i] = columns((long) i * d);
                m.put("prompt_embeddings", Ops.concat(1, cols).value());
            }
            return m;
        }

        @Override
        protected void load(String key, INDArray value) {
            if (table == null) {
                clearParameters();
                emb = w1 = b1 = w2 = b2 = null;
                table = parameter("prompt_embeddings", value.dup());
            } else {
                table.value().assign(value);
            }
        }
    }
}
