package io.peft4j.prompt.soft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.EmbeddingHook;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * Soft tokens of prompt templates on the embeddings hook site. The hook replaces the word embedding at each
 * position the pass's {@link SoftTokenSlots} name for this adapter with the soft token's row, in whatever rows
 * they are (row tags and {@code setActive} do not apply: the rendered template decides):
 * {@code e' = e ⊙ keep + S · soft_embeddings}, with S the constant 0/1 matrix that puts soft token j at its
 * positions and keep 0 there.
 */
public final class SoftTokensMethod implements PeftMethod {
    static final String KEY = "soft_embeddings";

    @Override
    public String peftType() {
        return SoftTokensConfig.PEFT_TYPE;
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return SoftTokensConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        int n = f.positiveInt("num_soft_tokens", null);
        List<Integer> ids = f.ints("init_token_ids");
        if (ids == null) ids = Collections.nCopies(n, -1);
        if (ids.size() != n) throw PeftException.inFile(file, "field 'init_token_ids' lists " + ids.size() + " ids for " + n + " soft tokens");
        return new SoftTokensConfig(ids, f.optionalPositiveInt("token_dim"));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new SoftTokensAdapter(model, (SoftTokensConfig) config, name, seed);
    }

    static final class SoftTokensAdapter extends Adapter {
        private final Tensor table;

        SoftTokensAdapter(TransformerModel model, SoftTokensConfig cfg, String name, long seed) {
            super(name, cfg, model);
            long d = model.config().hidden();
            if (cfg.tokenDim() != null && cfg.tokenDim() != d) {
                throw new IllegalArgumentException("field 'token_dim' is " + cfg.tokenDim() + " but this base model has hidden size " + d
                        + ": the soft tokens were made for another base");
            }
            INDArray init = Nd4j.create(model.dataType(), cfg.count(), d);
            for (int j = 0; j < cfg.count(); j++) {
                int id = cfg.initTokenIds().get(j);
                if (id >= model.config().vocabSize()) {
                    throw new IllegalArgumentException("soft token " + j + " starts from token id " + id + ", outside the vocabulary of " + model.config().vocabSize());
                }
                init.putRow(j, id >= 0 ? wordEmbeddings(model).getRow(id).castTo(model.dataType()) : Init.normal(seed(seed, j), 1.0, model.dataType(), d));
            }
            table = parameter(KEY, init);
            String site = model.hooks().sites(SiteKind.EMBEDDINGS).get(0).name();
            installUnowned(site, (EmbeddingHook) this::replace);
        }

        private static INDArray wordEmbeddings(TransformerModel model) {
            Tensor t = model.inputEmbeddings();
            if (t == null) throw new IllegalArgumentException("this model has no loaded word embeddings to initialise soft tokens from");
            return t.value();
        }

        private Tensor replace(Tensor e, ForwardContext ctx) {
            SoftTokenSlots slots = ctx.attachment(SoftTokenSlots.class);
            int[][] mine = slots == null ? null : slots.byAdapter().get(name());
            if (mine == null || mine.length == 0) return e;
            long b = e.size(0), len = e.size(1), d = e.size(2), n = table.size(0);
            long offset = len - slots.length();
            double[] keep = new double[(int) (b * len)];
            java.util.Arrays.fill(keep, 1);
            double[] select = new double[(int) (b * len * n)];
            for (int[] s : mine) {
                if (s[0] < 0 || s[0] >= b || s[1] < 0 || s[1] >= slots.length() || s[2] < 0 || s[2] >= n) {
                    throw new IllegalArgumentException("soft-token slot " + java.util.Arrays.toString(s) + " outside a batch of " + b + " x " + slots.length()
                            + " with " + n + " soft tokens");
                }
                long at = s[0] * len + offset + s[1];
                keep[(int) at] = 0;
                select[(int) (at * n + s[2])] = 1;
            }
            var type = e.dataType();
            Tensor flat = Ops.reshape(e, b * len, d);
            Tensor kept = Ops.mul(flat, Tensor.constant(Nd4j.create(keep, new long[]{b * len, 1}, 'c').castTo(type)));
            Tensor placed = Ops.matmul(Tensor.constant(Nd4j.create(select, new long[]{b * len, n}, 'c').castTo(type)), table, false, false);
            return Ops.reshape(Ops.add(kept, placed), b, len, d);
        }
    }
}
