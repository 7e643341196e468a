package io.peft4j.probe;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The probing protocol on planted signals, the report writers, and bad input. */
class ProbingTest {
    static final List<Integer> LAYERS = List.of(0, 1, 2, 3, 4);
    static final List<Pooling> POOLINGS = List.of(Pooling.CLS, Pooling.MEAN);

    /** Random 3-class labels; only layer 3's features carry them (class centroids plus noise), every other layer is noise. */
    static Features planted(int[] labels, long seed) {
        Random r = new Random(seed);
        int d = 16;
        double[][] centre = new double[3][d];
        Random c = new Random(99);                                  // the same centroids for train and dev
        for (double[] row : centre) for (int j = 0; j < d; j++) row[j] = 1.5 * c.nextGaussian();
        Features f = new Features(LAYERS, POOLINGS, labels.length, d);
        for (int l : LAYERS) {
            for (Pooling p : POOLINGS) {
                float[] x = f.matrix(l, p);
                for (int i = 0; i < labels.length; i++) {
                    for (int j = 0; j < d; j++) x[i * d + j] = (float) ((l == 3 ? centre[labels[i]][j] : 0) + r.nextGaussian());
                }
            }
        }
        return f;
    }

    static int[] labels(int n, long seed) {
        Random r = new Random(seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(3);
        return y;
    }

    static ProbeResult plantedResult(boolean mlp) {
        int[] yTrain = labels(300, 1), yDev = labels(150, 2);
        ProbeConfig cfg = ProbeConfig.defaults().withMlp(mlp ? MlpProbe.Config.defaults().withHidden(32).withEpochs(40, 3) : null);
        return Probing.probe(planted(yTrain, 3), yTrain, planted(yDev, 4), yDev, List.of("a", "b", "c"), cfg, ProbeListener.NONE);
    }

    @Test
    void theLayerThatCarriesTheLabelRanksFirst() {
        ProbeResult r = plantedResult(true);
        for (String probe : List.of(LayerScore.LINEAR, LayerScore.MLP)) {
            List<LayerScore> ranking = r.ranking(probe);
            assertThat(ranking.get(0).layer()).as(probe).isEqualTo(3);
            assertThat(ranking.get(1).layer()).as(probe).isEqualTo(3);                 // both poolings of layer 3 before any other layer
            assertThat(ranking.get(0).accuracy()).isGreaterThan(0.9);
            for (LayerScore s : ranking.subList(2, ranking.size())) assertThat(s.accuracy()).as("%s layer %d", probe, s.layer()).isLessThan(0.5);
        }
        assertThat(r.majorityAccuracy()).isBetween(0.25, 0.45);
        assertThat(r.scores()).hasSize(5 * 2 * 2);
    }

    @Test
    void reportHasATableJsonAndAPlotOfTheRequestedSize(@TempDir Path tmp) throws Exception {
        ProbeResult r = plantedResult(false);
        String md = r.markdown();
        assertThat(md.lines().filter(l -> l.startsWith("| "))).hasSize(1 + 5);   // header + one row per layer
        assertThat(md).contains("| layer | linear CLS acc | linear CLS F1 | linear MEAN acc | linear MEAN F1 |").contains("| 0 (embeddings) |");
        String bestCls = String.format(java.util.Locale.ROOT, "**%.4f**", r.score(3, Pooling.CLS, LayerScore.LINEAR).accuracy());
        assertThat(md).contains(bestCls);

        r.writeJson(tmp.resolve("probe.json"));
        JsonNode j = Json.read(tmp.resolve("probe.json"));
        assertThat(j.get("results")).hasSize(5 * 2);
        Set<String> seen = new HashSet<>();
        for (JsonNode e : j.get("results")) {
            seen.add(e.get("layer").asInt() + "/" + e.get("pooling").asText() + "/" + e.get("probe").asText());
            assertThat(e.get("accuracy").asDouble()).isBetween(0.0, 1.0);
            assertThat(e.get("macro_f1").asDouble()).isBetween(0.0, 1.0);
        }
        assertThat(seen).hasSize(10).contains("3/cls/linear", "0/mean/linear");
        assertThat(j.get("labels")).hasSize(3);
        assertThat(j.get("majority_accuracy").asDouble()).isCloseTo(r.majorityAccuracy(), within(1e-12));

        Path png = tmp.resolve("plot.png");
        r.writePlot(png, 640, 400);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img).isNotNull();
        assertThat(img.getWidth()).isEqualTo(640);
        assertThat(img.getHeight()).isEqualTo(400);
        Set<Integer> colours = new HashSet<>();
        for (int x = 0; x < 640; x += 4) for (int y = 0; y < 400; y += 4) colours.add(img.getRGB(x, y));
        assertThat(colours.size()).as("a drawn chart, not a blank image").isGreaterThan(5);
        assertThatThrownBy(() -> r.writePlot(tmp.resolve("tiny.png"), 10, 10)).isInstanceOf(PeftException.class);
    }

    @Test
    void withoutDevAStratifiedPartOfTrainIsHeldOut() {
        int[] y = labels(300, 5);
        ProbeResult r = Probing.probe(planted(y, 6), y, null, null, List.of("a", "b", "c"), ProbeConfig.defaults().withLayers(List.of(3)), ProbeListener.NONE);
        int[] count = new int[3];
        for (int v : y) count[v]++;
        int held = 0;
        for (int c : count) held += Math.round(0.2 * c);
        assertThat(r.devExamples()).isEqualTo(held);
        assertThat(r.trainExamples()).isEqualTo(300 - held);
        assertThat(r.devSource()).isEqualTo("held-out 20% of train");
        assertThat(r.best(LayerScore.LINEAR).layer()).isEqualTo(3);
        int[][] split = Probing.stratifiedSplit(y, 3, 0.2, 42);
        assertThat(split[0].length + split[1].length).isEqualTo(300);
        assertThat(Probing.stratifiedSplit(y, 3, 0.2, 42)[1]).containsExactly(split[1]);     // seeded
    }

    /** Short texts over the tiny vocabulary; the label says whether w7 occurs. */
    static LabeledTexts containsW7(int n, long seed) {
        Random r = new Random(seed);
        List<String> texts = new ArrayList<>(), labels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean yes = r.nextBoolean();
            List<String> words = new ArrayList<>();
            for (int k = 0; k < 2 + r.nextInt(3); k++) words.add("w" + (8 + r.nextInt(93)));
            if (yes) words.add(r.nextInt(words.size() + 1), "w7");
            texts.add(String.join(" ", words));
            labels.add(yes ? "yes" : "no");
        }
        return LabeledTexts.of(texts, labels);
    }

    @Test
    void endToEndOnTinyBertFindsATokenInTheMeanOfItsEmbeddings() {
        var listener = new ArrayList<String>();
        ProbeResult r = Probing.run(TinyModels.bert(), TinyModels.bertTokenizer(), "bert-tiny", containsW7(200, 1), containsW7(100, 2),
                ProbeConfig.defaults().withMlp(MlpProbe.Config.defaults().withHidden(16).withEpochs(40, 3)), (s, d, t) -> listener.add(s + " " + d + "/" + t));
        assertThat(r.layers()).containsExactly(0, 1, 2);
        assertThat(r.labels()).containsExactly("no", "yes");
        // the mean of the input embeddings contains w7's embedding whenever w7 occurs: linearly decodable at layer 0
        assertThat(r.score(0, Pooling.MEAN, LayerScore.LINEAR).accuracy()).isGreaterThan(0.9);
        assertThat(r.extraction().fromCache()).isFalse();
        assertThat(r.extraction().examples()).isEqualTo(300);
        assertThat(listener).contains("EXTRACT 300/300", "PROBE 12/12");
    }

    @Test
    void badInputGetsOneClearMessage() {
        var bert = TinyModels.bert();
        var tok = TinyModels.bertTokenizer();
        var cfg = ProbeConfig.defaults();
        LabeledTexts ok = LabeledTexts.of(List.of("w5", "w6", "w7"), List.of("a", "b", "a"));
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", LabeledTexts.of(List.of(), List.of()), ok, cfg, ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessage("the training data is empty");
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", ok, LabeledTexts.of(List.of(), List.of()), cfg, ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessage("the dev data is empty");
        LabeledTexts devWithNew = LabeledTexts.of(List.of("w5", "w6", "w8"), List.of("a", "c", "c"));
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", ok, devWithNew, cfg, ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessageContaining("dev labels missing from the training data: 'c' (2 examples)")
                .hasMessageContaining("training labels: [a, b]");
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", LabeledTexts.of(List.of("w5", "w6"), List.of("a", "a")), null, cfg, ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessageContaining("only one label ('a')");
        assertThatThrownBy(() -> LabeledTexts.of(List.of("w5", "w6"), List.of("a")))
                .isInstanceOf(PeftException.class).hasMessage("2 texts but 1 labels");
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", LabeledTexts.of(List.of("w5", "w6"), List.of("a", "b")), null, cfg, ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessageContaining("too few training examples (2) to hold out a dev set");
        assertThatThrownBy(() -> ProbeConfig.parseLayers("1,x")).isInstanceOf(PeftException.class).hasMessageContaining("'x' is not a layer index");
        assertThat(ProbeConfig.parseLayers("all")).isEmpty();
        assertThat(ProbeConfig.parseLayers(" 0, 6,12")).containsExactly(0, 6, 12);
        assertThatThrownBy(() -> Probing.run(bert, tok, "m", ok, ok, cfg.withLayers(List.of(0, 7)), ProbeListener.NONE))
                .isInstanceOf(PeftException.class).hasMessageContaining("layer 7 does not exist");
    }
}
