package io.peft4j.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.PerRowCheck;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PromptMethodsTest {
    private static final Path GPT2 = Fixtures.resource("configs/gpt2/config.json");
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}});

    private static INDArray allLogits(PeftModel m, int[] ids) {
        var out = m.forward(Batch.of(ids), ForwardContext.inference(1));
        return m.base().lmLogits(out.hidden()).value().slice(0);
    }

    @Test
    void hfPromptTuningFixtureReproducesItsLogitsAndSavesBackTheSameFiles(@TempDir Path tmp) {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT), "gpt2-tiny");
        m.load(Fixtures.dir("gpt2-tiny-prompt"), "default");
        INDArray logits = allLogits(m, Fixtures.ints(exp.get("input_ids")));
        assertClose(logits, matrix(exp.get("prompt_logits_all_positions")), 1e-4);
        m.save(tmp.resolve("p"));
        JsonNode ours = Json.read(tmp.resolve("p/adapter_config.json")), ref = Json.read(Fixtures.dir("gpt2-tiny-prompt").resolve("adapter_config.json"));
        for (String f : List.of("peft_type", "task_type", "num_virtual_tokens", "token_dim", "num_transformer_submodules", "num_attention_heads",
                "num_layers", "prompt_tuning_init")) {
            assertThat(ours.get(f)).as(f).isEqualTo(ref.get(f));
        }
        assertThat(SafeTensors.readAll(tmp.resolve("p/adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings")
                .equals(SafeTensors.readAll(Fixtures.dir("gpt2-tiny-prompt").resolve("adapter_model.safetensors"), DataType.FLOAT).get("prompt_embeddings"))).isTrue();
    }

    @Test
    void countsMatchHfPeft() {
        PeftModel p = PeftModel.of(Models.describe(ModelConfig.load(GPT2)));
        p.add("default", PromptTuningConfig.random(20));
        assertThat(p.parameterCount().trainable()).isEqualTo(15_360);
        PeftModel pt = PeftModel.of(Models.describe(ModelConfig.load(GPT2)));
        pt.add("default", PTuningConfig.mlp(20, 768));
        assertThat(pt.parameterCount().trainable()).isEqualTo(1_787_136);
        PeftModel lstm = PeftModel.of(Models.describe(ModelConfig.load(GPT2)));
        lstm.add("default", PTuningConfig.lstm(20, 768));
        long d = 768, h = 768;
        long lstmParams = 2 * (4 * h * (d + h) + 8 * h) + 2 * (4 * h * (2 * h + h) + 8 * h);
        long mlpHead = (2 * h * 2 * h + 2 * h) + (2 * h * d + d);
        assertThat(lstm.parameterCount().trainable()).isEqualTo(20 * d + lstmParams + mlpHead);
    }

    @Test
    void textInitCopiesTheEmbeddingRowsOfTheTextsTokensRepeated(@TempDir Path tmp) throws Exception {
        // a WordPiece vocabulary sized to bert-tiny's 101 ids
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "movie"));
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(tmp.resolve("vocab.txt"), vocab);
        TransformerModel bert = Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
        PeftModel m = PeftModel.of(bert);
        Adapter a = m.add("default", PromptTuningConfig.text(6, "great movie", tmp.toString()));
        INDArray p = a.parameters().get("prompt_embeddings").value();
        INDArray table = bert.parameters().get("embeddings.word_embeddings.weight").value();
        int[] expected = {2, 5, 6, 3, 2, 5};   // HF tokenizes with special tokens: [CLS] great movie [SEP], repeated to 6
        for (int i = 0; i < 6; i++) assertThat(p.getRow(i).equals(table.getRow(expected[i]))).as("row %d", i).isTrue();
        var out = m.forward(BATCH, ForwardContext.inference(2));
        assertThat(out.virtualTokens()).isEqualTo(6);
        assertThat(out.hidden().shape()).containsExactly(2, 10, 32);
    }

    @Test
    void gradientsOfPromptAndBothEncodersMatchFiniteDifferences() {
        for (String fixture : List.of("gpt2-tiny", "bert-tiny")) {
            for (var cfg : List.of(PromptTuningConfig.sampleVocab(3), PTuningConfig.mlp(3, 8), PTuningConfig.lstm(2, 4))) {
                PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.DOUBLE));
                Adapter a = m.add("default", (io.peft4j.core.peft.PeftConfig) cfg, 4);
                GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(2)).hidden(), 9),
                        new ArrayList<>(a.parameters().values()), 5, 1e-5);
            }
        }
    }

    @Test
    void lstmEncoderMatchesAPlainLoopReference() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        PTuningConfig cfg = new PTuningConfig(3, PTuningConfig.Encoder.LSTM, 4, 1, 0.0, null, null);
        Adapter a = m.add("default", cfg, 1);
        Map<String, Tensor> p = a.parameters();
        double[][] x = p.get("prompt_encoder.embedding.weight").value().toDoubleMatrix();
        double[][] fwd = lstm(x, p, "_l0", false), bwd = lstm(x, p, "_l0_reverse", true);
        double[][] cat = new double[3][8];
        for (int t = 0; t < 3; t++) {
            System.arraycopy(fwd[t], 0, cat[t], 0, 4);
            System.arraycopy(bwd[t], 0, cat[t], 4, 4);
        }
        double[][] hid = linear(cat, p, "prompt_encoder.mlp_head.0");
        for (double[] r : hid) for (int j = 0; j < r.length; j++) r[j] = Math.max(0, r[j]);
        double[][] expected = linear(hid, p, "prompt_encoder.mlp_head.2");
        assertClose(a.stateDict().get("prompt_embeddings"), expected, 1e-12);
    }

    private static double[][] linear(double[][] x, Map<String, Tensor> p, String key) {
        double[][] w = p.get(key + ".weight").value().toDoubleMatrix();
        double[] b = p.get(key + ".bias").value().toDoubleVector();
        double[][] y = new double[x.length][w.length];
        for (int i = 0; i < x.length; i++) for (int o = 0; o < w.length; o++) {
            double s = b[o];
            for (int k = 0; k < x[i].length; k++) s += w[o][k] * x[i][k];
            y[i][o] = s;
        }
        return y;
    }

    private static double[][] lstm(double[][] x, Map<String, Tensor> p, String s, boolean reverse) {
        double[][] wih = p.get("prompt_encoder.lstm_head.weight_ih" + s).value().toDoubleMatrix();
        double[][] whh = p.get("prompt_encoder.lstm_head.weight_hh" + s).value().toDoubleMatrix();
        double[] bih = p.get("prompt_encoder.lstm_head.bias_ih" + s).value().toDoubleVector();
        double[] bhh = p.get("prompt_encoder.lstm_head.bias_hh" + s).value().toDoubleVector();
        int h = whh[0].length, n = x.length;
        double[] hp = new double[h], c = new double[h];
        double[][] out = new double[n][];
        for (int step = 0; step < n; step++) {
            int t = reverse ? n - 1 - step : step;
            double[] g = new double[4 * h];
            for (int r = 0; r < 4 * h; r++) {
                double v = bih[r] + bhh[r];
                for (int k = 0; k < x[t].length; k++) v += wih[r][k] * x[t][k];
                for (int k = 0; k < h; k++) v += whh[r][k] * hp[k];
                g[r] = v;
            }
            double[] hn = new double[h];
            for (int j = 0; j < h; j++) {
                double i = sig(g[j]), f = sig(g[h + j]), gg = Math.tanh(g[2 * h + j]), o = sig(g[3 * h + j]);
                c[j] = f * c[j] + i * gg;
                hn[j] = o * Math.tanh(c[j]);
            }
            hp = hn;
            out[t] = hn;
        }
        return out;
    }

    private static double sig(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    @Test
    void pTuningExportsItsTableWhichLoadsBackToTheSameOutputs(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT), "gpt2-tiny");
        m.add("default", PTuningConfig.mlp(4, 16), 3);
        int[] ids = {1, 2, 3, 4, 5};
        INDArray before = allLogits(m, ids);
        m.save(tmp.resolve("pt"));
        var saved = SafeTensors.readAll(tmp.resolve("pt/adapter_model.safetensors"), DataType.FLOAT);
        assertThat(saved.keySet()).containsExactly("prompt_embeddings");
        assertThat(saved.get("prompt_embeddings").shape()).containsExactly(4, 32);
        assertThat(Json.read(tmp.resolve("pt/adapter_config.json")).get("encoder_reparameterization_type").asText()).isEqualTo("MLP");
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        Adapter loaded = back.load(tmp.resolve("pt"), "default");
        assertThat(loaded.parameters().keySet()).containsExactly("prompt_embeddings");
        assertClose(allLogits(back, ids), before.toDoubleMatrix(), 1e-5);
    }

    /** Rows tagged for a prompt adapter and rows without it share one batch; each computes what it computes alone. */
    @Test
    void mixedBatchesGiveEachRowItsOwnResultAndGradient() {
        Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 8, 4, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        PeftModel gpt2 = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        gpt2.load(Fixtures.dir("gpt2-tiny-prompt"), "p");
        PerRowCheck.rowsMatchSeparateRuns(gpt2, batch, List.of("p", "__base__", "p"), 1e-10);
        PerRowCheck.rowsMatchSeparateRuns(gpt2, batch, List.of("__base__", "p", "__base__"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(gpt2, gpt2.adapter("p"), batch, List.of("p", "__base__", "p"), 1e-10);
        PerRowCheck.withASecondAdapter(gpt2, PromptTuningConfig.random(2), "p", batch, 1e-10);    // prompts of two lengths
        PeftModel bert = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE));
        Adapter pt = bert.add("pt", PTuningConfig.mlp(3, 8), 4);
        PerRowCheck.rowsMatchSeparateRuns(bert, batch, List.of("__base__", "pt", "pt"), 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(bert, pt, batch, List.of("__base__", "pt", "pt"), 1e-10);
    }

    /**
     * Prompt adapters of disjoint rows share their positions: a batch mixing a 5-token and a 2-token prompt carries 5
     * virtual positions, not 7, and each row still computes what it computes alone (the shorter prompt's row masks the
     * slots it does not fill).
     */
    @Test
    void promptAdaptersOfDisjointRowsShareTheirPositions() {
        Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 8, 4, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}});
        PeftModel gpt2 = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        gpt2.add("five", PromptTuningConfig.random(5), 1);
        gpt2.add("two", PromptTuningConfig.random(2), 2);
        List<String> tags = List.of("two", "five", "__base__");
        ModelOutput out = gpt2.forward(batch, new ForwardContext(3, tags, false, 0));
        assertThat(out.virtualTokens()).isEqualTo(5);
        assertThat(out.attentionMask()[0]).startsWith(1, 1, 0, 0, 0);     // "two": its 2 tokens, 3 unused slots
        assertThat(out.attentionMask()[1]).startsWith(1, 1, 1, 1, 1);
        assertThat(out.attentionMask()[2]).startsWith(0, 0, 0, 0, 0);
        PerRowCheck.rowsMatchSeparateRuns(gpt2, batch, tags, 1e-10);
        PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(gpt2, gpt2.adapter("two"), batch, tags, 1e-10);
    }

    @Test
    void promptAdaptersForAnotherBaseAreRefused(@TempDir Path tmp) throws Exception {
        Path copy = tmp.resolve("wide");
        Files.createDirectories(copy);
        Files.copy(Fixtures.dir("gpt2-tiny-prompt").resolve("adapter_model.safetensors"), copy.resolve("adapter_model.safetensors"));
        String cfg = Files.readString(Fixtures.dir("gpt2-tiny-prompt").resolve("adapter_config.json"));
        Files.writeString(copy.resolve("adapter_config.json"), cfg.replace("\"token_dim\": 32", "\"token_dim\": 768"));
        PeftModel bert = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        assertThatThrownBy(() -> bert.load(copy, "x")).hasMessageContaining("adapter_config.json")
                .hasMessageContaining("token_dim' is 768").hasMessageContaining("hidden size 32");
        Files.writeString(copy.resolve("adapter_config.json"), cfg.replace("\"num_layers\": 2", "\"num_layers\": 12"));
        assertThatThrownBy(() -> bert.load(copy, "x")).hasMessageContaining("num_layers' is 12");
        assertThat(bert.adapters()).isEmpty();
    }

    /** A size field the weights file does not back is refused before anything is allocated from it (issue 14: this allocated gigabytes). */
    @Test
    void aSizeFieldTheWeightsDoNotBackIsRefusedBeforeAllocating(@TempDir Path tmp) {
        Fixtures.assertUnbackedSizeRefused("gpt2-tiny-prompt", tmp, "num_virtual_tokens", 67108863);
    }
}
