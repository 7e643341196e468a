package io.peft4j.probe;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Encoding;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Per-layer pooled features against the independent reference's outputs and a hand recomputation. */
class FeatureExtractorTest {
    static final List<Pooling> ALL = List.of(Pooling.CLS, Pooling.MEAN, Pooling.LAST);

    /** BERT's top hidden state (2 = last layer) pooled, next to a longer and a shorter input, equals the reference's last_hidden_state. */
    @Test
    void bertTopLayerPoolsTheReferenceLastHiddenState() {
        TransformerModel bert = TinyModels.bert();
        JsonNode exp = Fixtures.expected("bert-tiny");
        int[] ids = Arrays.copyOf(Fixtures.ints(exp.get("input_ids")), 8), types = Arrays.copyOf(Fixtures.ints(exp.get("token_type_ids")), 8);
        Encoding ex = new Encoding(ids, new String[8], types, TinyModels.ones(8));
        List<Encoding> inputs = List.of(TinyModels.encoding(5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), ex, TinyModels.encoding(2, 20, 3));
        Features f = new FeatureExtractor(bert, List.of(2), ALL, 3).extract(inputs, ProbeListener.NONE);
        double[][] h = Fixtures.matrix(exp.get("last_hidden_state"));
        float[] cls = f.matrix(2, Pooling.CLS), mean = f.matrix(2, Pooling.MEAN), last = f.matrix(2, Pooling.LAST);
        for (int j = 0; j < 32; j++) {
            double m = 0;
            for (double[] row : h) m += row[j] / 8;
            assertThat((double) cls[32 + j]).isCloseTo(h[0][j], within(1e-4));
            assertThat((double) mean[32 + j]).isCloseTo(m, within(1e-4));
            assertThat((double) last[32 + j]).isCloseTo(h[7][j], within(1e-4));
        }
    }

    /** GPT-2's top hidden state is after ln_f (as HF's hidden_states[L]): the last token's feature times wteᵀ gives the reference logits. */
    @Test
    void gpt2TopLayerIsTheFinalHiddenStateAfterLnF() {
        TransformerModel gpt2 = TinyModels.gpt2();
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        Features f = new FeatureExtractor(gpt2, List.of(2), List.of(Pooling.LAST), 4)
                .extract(List.of(TinyModels.encoding(ids), TinyModels.encoding(5, 6)), ProbeListener.NONE);
        double[][] wte = gpt2.parameters().get("wte.weight").value().toDoubleMatrix();
        double[] logits = Fixtures.matrix(exp.get("logits"))[ids.length - 1];
        float[] x = f.matrix(2, Pooling.LAST);
        for (int v = 0; v < wte.length; v++) {
            double s = 0;
            for (int j = 0; j < 32; j++) s += x[j] * wte[v][j];
            assertThat(s).as("logit %d", v).isCloseTo(logits[v], within(1e-4));
        }
    }

    /** Hidden state 0 is the embeddings' output: LayerNorm(word + position + type embedding), recomputed here in double. */
    @Test
    void layerZeroIsTheEmbeddingsOutput() {
        TransformerModel bert = TinyModels.bert();
        var p = bert.parameters();
        double[][] word = p.get("embeddings.word_embeddings.weight").value().toDoubleMatrix();
        double[][] pos = p.get("embeddings.position_embeddings.weight").value().toDoubleMatrix();
        double[][] typ = p.get("embeddings.token_type_embeddings.weight").value().toDoubleMatrix();
        double[] gamma = p.get("embeddings.LayerNorm.weight").value().toDoubleVector(), beta = p.get("embeddings.LayerNorm.bias").value().toDoubleVector();
        int[] ids = {2, 17, 40, 3};
        Features f = new FeatureExtractor(bert, List.of(0), List.of(Pooling.CLS, Pooling.MEAN), 2).extract(List.of(TinyModels.encoding(ids)), ProbeListener.NONE);
        double[] mean = new double[32];
        for (int t = 0; t < ids.length; t++) {
            double[] e = new double[32];
            double mu = 0, var = 0;
            for (int j = 0; j < 32; j++) mu += (e[j] = word[ids[t]][j] + pos[t][j] + typ[0][j]) / 32;
            for (int j = 0; j < 32; j++) var += (e[j] - mu) * (e[j] - mu) / 32;
            for (int j = 0; j < 32; j++) {
                double y = (e[j] - mu) / Math.sqrt(var + 1e-12) * gamma[j] + beta[j];
                if (t == 0) assertThat((double) f.matrix(0, Pooling.CLS)[j]).isCloseTo(y, within(1e-5));
                mean[j] += y / ids.length;
            }
        }
        for (int j = 0; j < 32; j++) assertThat((double) f.matrix(0, Pooling.MEAN)[j]).isCloseTo(mean[j], within(1e-5));
    }

    /** Sorting by length, padding and batching change nothing: every example's features equal those of a batch of one. */
    @Test
    void batchedPaddedFeaturesEqualOneAtATimeInInputOrder() {
        for (TransformerModel m : List.of(TinyModels.bert(), TinyModels.gpt2())) {
            List<Encoding> inputs = TinyModels.randomInputs(7, 12, m.config().vocabSize(), 3);
            List<Integer> layers = FeatureExtractor.allLayers(m);
            assertThat(layers).containsExactly(0, 1, 2);
            Features batched = new FeatureExtractor(m, layers, ALL, 3).extract(inputs, ProbeListener.NONE);
            for (int i = 0; i < inputs.size(); i++) {
                Features one = new FeatureExtractor(m, layers, ALL, 1).extract(List.of(inputs.get(i)), ProbeListener.NONE);
                for (int l : layers) {
                    for (Pooling p : ALL) {
                        float[] a = Arrays.copyOfRange(batched.matrix(l, p), i * 32, (i + 1) * 32), b = one.matrix(l, p);
                        for (int j = 0; j < 32; j++) assertThat(a[j]).as("%s row %d layer %d %s", m.config().modelType(), i, l, p).isCloseTo(b[j], within(1e-5f));
                    }
                }
            }
            // the layers differ from each other (each hook reads its own site)
            assertThat(batched.matrix(1, Pooling.MEAN)).isNotEqualTo(batched.matrix(2, Pooling.MEAN));
        }
    }

    @Test
    void onePassPerBatchAndProgressReported() {
        TransformerModel bert = TinyModels.bert();
        var passes = TinyModels.countPasses(bert);
        List<int[]> progress = new ArrayList<>();
        new FeatureExtractor(bert, List.of(0, 1, 2), List.of(Pooling.CLS, Pooling.MEAN), 3)
                .extract(TinyModels.randomInputs(7, 10, 101, 1), (stage, done, total) -> progress.add(new int[]{done, total}));
        assertThat(passes.get()).isEqualTo(3);
        assertThat(progress).extracting(a -> a[0]).containsExactly(3, 6, 7);
        assertThat(progress).extracting(a -> a[1]).containsOnly(7);
        // the extractor's hooks are gone afterwards: only the counter remains
        assertThat(bert.hooks().at("encoder.layer.0", io.peft4j.core.hooks.HiddenHook.class)).isEmpty();
    }

    @Test
    void badRequestsAreRefused() {
        TransformerModel bert = TinyModels.bert();
        assertThatThrownBy(() -> new FeatureExtractor(bert, List.of(3), List.of(Pooling.CLS), 4))
                .isInstanceOf(PeftException.class).hasMessageContaining("layer 3 does not exist").hasMessageContaining("0 (embeddings) to 2");
        assertThatThrownBy(() -> new FeatureExtractor(bert, List.of(1), List.of(Pooling.CLS), 4).extract(List.of(), ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessageContaining("no examples");
        // texts longer than the model are truncated to the max length
        var tok = TinyModels.bertTokenizer();
        String longText = String.join(" ", java.util.Collections.nCopies(100, "w7"));
        List<Encoding> enc = FeatureExtractor.encode(tok, List.of(longText, "w8 w9"), null, 40);
        assertThat(enc.get(0).length()).isEqualTo(40);
        assertThat(enc.get(0).ids()[39]).isEqualTo(3);          // [SEP] kept at the end
        assertThat(enc.get(1).ids()).containsExactly(2, 8, 9, 3);
        Features f = new FeatureExtractor(bert, List.of(2), List.of(Pooling.MEAN), 2).extract(enc, ProbeListener.NONE);
        assertThat(f.rows()).isEqualTo(2);
        // GPT-2 adds no special tokens: an empty text has no token to pool
        var gpt2Tok = io.peft4j.core.tokenizer.Tokenizers.fromVocabAndMerges(Fixtures.resource("tokenizers/gpt2/vocab.json"),
                Fixtures.resource("tokenizers/gpt2/merges.txt"));
        assertThatThrownBy(() -> FeatureExtractor.encode(gpt2Tok, List.of("Hello", ""), null, 64))
                .isInstanceOf(PeftException.class).hasMessage("example 1: the text encodes to no tokens (empty text?)");
    }
}
