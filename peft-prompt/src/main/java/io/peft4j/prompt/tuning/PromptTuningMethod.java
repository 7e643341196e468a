package io.peft4j.prompt.tuning;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.PromptLearning;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizers;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.SplittableRandom;

/** Prompt tuning on the embeddings hook site; files: {@code prompt_embeddings} {@code [n, d]}. */
public final class PromptTuningMethod implements PeftMethod {
    @Override
    public String peftType() {
        return "PROMPT_TUNING";
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return PromptTuningConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        PromptTuningConfig.Init i = f.enumValue("prompt_tuning_init", PromptTuningConfig.Init.class, PromptTuningConfig.Init.RANDOM);
        return new PromptTuningConfig(f.positiveInt("num_virtual_tokens", null), i, f.text("prompt_tuning_init_text", null),
                f.text("tokenizer_name_or_path", null), f.text("task_type", null), PromptLearning.RecordedBase.read(f));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new PromptTuningAdapter(model, (PromptTuningConfig) config, name, seed, false);
    }

    /** A saved prompt replaces its initialisation, so loading never needs the TEXT init's tokenizer. */
    @Override
    public Adapter createForLoading(TransformerModel model, PeftConfig config, String name) {
        return new PromptTuningAdapter(model, (PromptTuningConfig) config, name, 0, true);
    }

    /** The prompt's initial rows. */
    static INDArray initialPrompt(TransformerModel model, PromptTuningConfig cfg, long seed) {
        int n = cfg.numVirtualTokens();
        long d = model.config().hidden();
        return switch (cfg.init()) {
            case RANDOM -> Init.normal(seed, 1.0, model.dataType(), n, d);
            case SAMPLE_VOCAB -> {
                SplittableRandom r = new SplittableRandom(seed);
                int[] ids = new int[n];
                for (int i = 0; i < n; i++) ids[i] = r.nextInt((int) model.config().vocabSize());
                yield embeddingRows(model, ids);
            }
            case TEXT -> {
                Path dir = Path.of(cfg.tokenizerNameOrPath());
                if (!java.nio.file.Files.isDirectory(dir)) dir = ModelHub.resolve(cfg.tokenizerNameOrPath());
                int[] tokens = Tokenizers.load(dir).encode(cfg.initText()).ids();
                if (tokens.length == 0) throw new IllegalArgumentException("prompt_tuning_init_text '" + cfg.initText() + "' has no tokens");
                int[] ids = new int[n];
                for (int i = 0; i < n; i++) ids[i] = tokens[i % tokens.length];   // repeat, then truncate
                yield embeddingRows(model, ids);
            }
        };
    }

    private static INDArray embeddingRows(TransformerModel model, int[] ids) {
        Tensor table = model.inputEmbeddings();
        if (table == null) throw new IllegalArgumentException("this model has no loaded word embeddings to initialise a prompt from");
        return Nd4j.pullRows(table.value(), 1, ids).castTo(model.dataType()).dup('c');     // a table kept in BF16 gives FP32 rows
    }

    static final class PromptTuningAdapter extends Adapter {
        PromptTuningAdapter(TransformerModel model, PromptTuningConfig cfg, String name, long seed, boolean loading) {
            super(name, cfg, model);
            cfg.recorded().check(model);
            Tensor prompt = parameter("prompt_embeddings", loading ? Init.zeros(model.dataType(), cfg.numVirtualTokens(), model.config().hidden())
                    : initialPrompt(model, cfg, seed(seed, 0)));
            install(model.hooks().sites(io.peft4j.core.hooks.SiteKind.EMBEDDINGS).get(0).name(), PromptLearning.prepending(this, ctx -> prompt));
        }
    }
}
