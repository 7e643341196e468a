package io.peft4j.instruct.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.instruct.encoding.InstructionBatch;
import io.peft4j.instruct.encoding.InstructionEncoding;

import java.nio.file.Path;

/**
 * Installs an {@link InstructionPrefixConfig instruction prefix} on every attention-prefix hook site, and reads and
 * writes its files ({@code adapter_config.json} with {@code peft_type INSTRUCTION_PREFIX}; weights
 * {@code instruction_encoder.queries}, {@code .transform.0.weight/bias}, {@code .transform.2.weight/bias} in PyTorch's
 * {@code [out, in]} orientation).
 */
public final class InstructionPrefixMethod implements PeftMethod {
    @Override
    public String peftType() {
        return InstructionPrefixConfig.PEFT_TYPE;
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return InstructionPrefixConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        return new InstructionPrefixConfig(f.positiveInt("num_virtual_tokens", null), f.positiveInt("encoder_hidden_size", null));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new InstructionPrefix(model, (InstructionPrefixConfig) config, name, seed);
    }

    /** The prefix module: one set of weights, installed on every layer's attention-prefix site. */
    static final class InstructionPrefix extends Adapter implements PrefixHook {
        private final int p, heads;
        private final long d, kvWidth;
        private final Tensor queries, w1, b1, w2, b2;

        InstructionPrefix(TransformerModel model, InstructionPrefixConfig cfg, String name, long seed) {
            super(name, cfg, model);
            p = cfg.numVirtualTokens();
            d = model.config().hidden();
            heads = model.config().keyValueHeads();               // prefixes are sized by the key/value heads
            kvWidth = model.config().keyValueWidth();
            long k = cfg.encoderHiddenSize(), width = 2L * model.config().layers() * kvWidth;
            var type = model.dataType();
            queries = parameter("instruction_encoder.queries", Init.normal(seed(seed, 0), 0.02, type, p, d));
            w1 = parameter("instruction_encoder.transform.0.weight", Init.kaimingUniform(seed(seed, 1), d, type, k, d));
            b1 = parameter("instruction_encoder.transform.0.bias", Init.uniform(seed(seed, 2), 1.0 / Math.sqrt(d), type, k));
            w2 = parameter("instruction_encoder.transform.2.weight", Init.kaimingUniform(seed(seed, 3), k, type, width, k));
            b2 = parameter("instruction_encoder.transform.2.bias", Init.uniform(seed(seed, 4), 1.0 / Math.sqrt(k), type, width));
            for (var s : model.hooks().sites(SiteKind.ATTENTION_PREFIX)) installUnowned(s.name(), this);
        }

        private static InstructionBatch batch(ForwardContext ctx) {
            InstructionBatch b = ctx.attachment(InstructionBatch.class);
            if (b != null && b.rows().length != ctx.batchSize()) {
                throw new IllegalStateException("an InstructionBatch of " + b.rows().length + " rows for a pass of " + ctx.batchSize());
            }
            return b;
        }

        @Override
        public int length(ForwardContext ctx) {
            InstructionBatch b = batch(ctx);
            return b == null || !b.any() ? 0 : p;
        }

        @Override
        public boolean[] appliesTo(ForwardContext ctx) {
            return batch(ctx).flags();
        }

        /** {@code G = tanh(U W1ᵀ + b1)} for the pass's instructions, stacked {@code [U·P, k]}; recomputed per layer (cheap). */
        private Tensor encoded(InstructionBatch b) {
            Tensor[] pooled = new Tensor[b.instructions().size()];
            for (int u = 0; u < pooled.length; u++) {
                InstructionEncoding e = b.instructions().get(u);
                Tensor h = Tensor.constant(e.tokens().castTo(model.dataType()));
                Tensor scores = Ops.scale(Ops.matmul(queries, h, false, true), 1.0 / Math.sqrt(d));
                pooled[u] = Ops.matmul(Ops.softmax(scores), h, false, false);
            }
            Tensor u = pooled.length == 1 ? pooled[0] : Ops.concat(0, pooled);
            return Ops.tanh(Ops.linearT(u, w1, b1));
        }

        @Override
        public KeyValue prefix(int layer, ForwardContext ctx) {
            InstructionBatch b = batch(ctx);
            Tensor g = encoded(b);
            return new KeyValue(rows(g, 2L * layer * kvWidth, b, ctx.batchSize()), rows(g, (2L * layer + 1) * kvWidth, b, ctx.batchSize()));
        }

        /**
         * Columns {@code [start, start + w)} of {@code G W2ᵀ + b2} (w the key/value width), one {@code [P, w]} block per
         * instruction, gathered per row: {@code [B, heads, P, dh]}.
         */
        private Tensor rows(Tensor g, long start, InstructionBatch b, int batch) {
            long w = kvWidth;
            Tensor kv = Ops.linearT(g, Ops.narrow(w2, 0, start, w), Ops.narrow(b2, 0, start, w));     // [U·P, w]
            Tensor perRow = Ops.embedding(Ops.reshape(kv, b.instructions().size(), p * w), b.gatherIndex());   // [B, P·w]
            return Ops.permute(Ops.reshape(perRow, batch, p, heads, w / heads), 0, 2, 1, 3);
        }
    }
}
