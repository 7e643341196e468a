package io.peft4j.prompt;

import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.PerRowCheck;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.template.AnswerMode;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prompt tuning and P-tuning on the Llama family: the prompt is initialised from the architecture's input embedding
 * table, HF PEFT's counts (sized by the hidden width even with grouped-query attention), gradients, training and
 * mixed batches; and a decoder answers with its next token.
 */
class LlamaPromptMethodsTest {
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 8, 4, 0}}, null,
            new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});

    @Test
    void sampledVocabularyInitCopiesRowsOfEmbedTokens() {
        TransformerModel llama = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        INDArray p = PeftModel.of(llama).add("default", PromptTuningConfig.sampleVocab(5), 3).parameters().get("prompt_embeddings").value();
        INDArray table = llama.parameters().get("embed_tokens.weight").value();
        for (int i = 0; i < 5; i++) {
            INDArray row = p.getRow(i);
            boolean found = false;
            for (int v = 0; v < table.rows() && !found; v++) found = table.getRow(v).equals(row);
            assertThat(found).as("prompt row %d is a row of embed_tokens", i).isTrue();
        }
        assertThat(AnswerMode.of(llama.config())).isEqualTo(AnswerMode.NEXT_TOKEN);
    }

    /**
     * Llama 3.2 1B (d = 2048): prompt tuning n = 20 is {@code n·d} = 40,960 (HF PEFT sizes prompts by the hidden width
     * with or without grouped-query attention); P-tuning's MLP with h = d: {@code n·d + 3(d·h + h)} = 12,630,016.
     */
    @Test
    void countsOnLlama32MatchHfPeft(@TempDir Path tmp) {
        Path cfg = Fixtures.resource("configs/llama-3.2-1b/config.json");
        PeftModel p = PeftModel.of(Models.describe(ModelConfig.load(cfg)), "meta-llama/Llama-3.2-1B");
        p.add("default", PromptTuningConfig.random(20));
        assertThat(p.parameterCount().trainable()).isEqualTo(40_960);
        PeftModel pt = PeftModel.of(Models.describe(ModelConfig.load(cfg)));
        pt.add("default", PTuningConfig.mlp(20, 2048));
        assertThat(pt.parameterCount().trainable()).isEqualTo(12_630_016);
        // the saved config records the hidden width and the query heads (only prefix tuning uses the key/value heads)
        PeftModel tiny = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT), "llama-tiny");
        tiny.add("default", PromptTuningConfig.random(3));
        tiny.save(tmp.resolve("p"));
        var json = Json.read(tmp.resolve("p/adapter_config.json"));
        assertThat(json.get("token_dim").asInt()).isEqualTo(32);
        assertThat(json.get("num_attention_heads").asInt()).isEqualTo(4);
        assertThat(json.get("task_type").asText()).isEqualTo("CAUSAL_LM");
    }

    @Test
    void gradientsOfPromptAndBothEncodersMatchFiniteDifferences() {
        for (var cfg : List.<PeftConfig>of(PromptTuningConfig.sampleVocab(3), PTuningConfig.mlp(3, 8), PTuningConfig.lstm(2, 4))) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
            Adapter a = m.add("default", cfg, 4);
            GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(3)).hidden(), 9),
                    new ArrayList<>(a.parameters().values()), 5, 1e-5);
        }
    }

    @Test
    void promptTuningAndPTuningTrainOnLlama() {
        for (var cfg : List.<PeftConfig>of(PromptTuningConfig.sampleVocab(4), PTuningConfig.mlp(4, 32))) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
            m.add("default", cfg, 1);
            Random r = new Random(3);
            List<Example.Lm> data = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                int start = 3 + r.nextInt(100);
                data.add(Example.Lm.response(new int[]{start, start + 1}, new int[]{40 + start % 2, 50, 60}));
            }
            var tc = TrainingConfig.defaults().withLearningRate(5e-2).withBatchSize(8, 1).withMaxSteps(60);
            var result = new Trainer<>(m, Objectives.causalLm(0), tc).fit(data, null, null);
            double first = result.losses().subList(0, 4).stream().mapToDouble(d -> d).average().orElseThrow();
            double last = result.losses().subList(56, 60).stream().mapToDouble(d -> d).average().orElseThrow();
            org.slf4j.LoggerFactory.getLogger(LlamaPromptMethodsTest.class).info("{} on llama-tiny: loss {} -> {}", cfg.peftType(), first, last);
            assertThat(last).as(cfg.peftType()).isLessThan(0.8 * first);
        }
    }

    @Test
    void mixedBatchesGiveEachRowItsOwnResultAndGradient() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
        m.add("p", PromptTuningConfig.sampleVocab(3), 1);
        Adapter pt = m.add("pt", PTuningConfig.mlp(2, 8), 2);
        PerRowCheck.rowsMatchSeparateRuns(m, BATCH, List.of("p", "__base__", "pt"), 1e-10);
        PerRowCheck.rowsMatchSeparateRuns(m, BATCH, List.of("pt", "p", "p"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(m, m.adapter("p"), BATCH, List.of("p", "__base__", "pt"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(m, pt, BATCH, List.of("p", "pt", "pt"), 1e-10);
    }
}
