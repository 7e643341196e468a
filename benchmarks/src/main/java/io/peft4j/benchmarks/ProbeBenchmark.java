package io.peft4j.benchmarks;

import io.peft4j.core.head.Pooling;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.probe.FeatureCache;
import io.peft4j.probe.FeatureExtractor;
import io.peft4j.probe.FeatureKey;
import io.peft4j.probe.Features;
import io.peft4j.probe.LayerScore;
import io.peft4j.probe.MlpProbe;
import io.peft4j.probe.ProbeConfig;
import io.peft4j.probe.ProbeListener;
import io.peft4j.probe.ProbeResult;
import io.peft4j.probe.Probing;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Probing speed on BERT-base: feature extraction (all 13 hidden states, CLS and mean) against a plain forward of the
 * same batches, alternating the two so that both see the same machine load; reading the features back from the
 * cache; and fitting the probes on 3,000 x 768 features per layer. Prints a Markdown section.
 * Usage: {@code ProbeBenchmark [TEXTS] [TOKENS] [BATCH] [ROUNDS]} (defaults 256 128 16 2).
 */
public final class ProbeBenchmark {
    private ProbeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int texts = args.length > 0 ? Integer.parseInt(args[0]) : 256, tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 16, rounds = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        System.out.println(run(Models.load(ModelHub.resolve("bert-base-uncased"), DataType.FLOAT), texts, tokens, batch, rounds));
    }

    /** The measurements as a Markdown section. */
    static String run(TransformerModel bert, int texts, int tokens, int batch, int rounds) throws Exception {
        Random r = new Random(42);
        List<Encoding> inputs = new ArrayList<>();
        for (int i = 0; i < texts; i++) {
            int[] ids = new int[tokens];
            for (int j = 0; j < tokens; j++) ids[j] = 1000 + r.nextInt(bert.config().vocabSize() - 1000);
            ids[0] = 101;
            ids[tokens - 1] = 102;
            int[] ones = new int[tokens];
            Arrays.fill(ones, 1);
            inputs.add(new Encoding(ids, new String[tokens], new int[tokens], ones));
        }
        List<Pooling> poolings = List.of(Pooling.CLS, Pooling.MEAN);
        FeatureExtractor extractor = new FeatureExtractor(bert, FeatureExtractor.allLayers(bert), poolings, batch);
        plain(bert, inputs.subList(0, batch), batch);                          // warm-up: workspaces learn their sizes
        List<Double> plainS = new ArrayList<>(), extractS = new ArrayList<>();
        Features features = null;
        for (int k = 0; k < rounds; k++) {
            long t0 = System.nanoTime();
            plain(bert, inputs, batch);
            plainS.add((System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            features = extractor.extract(inputs, ProbeListener.NONE);
            extractS.add((System.nanoTime() - t0) / 1e9);
        }
        Path dir = Files.createTempDirectory("probe-bench");
        FeatureKey key = FeatureKey.of(bert, inputs, tokens, features.layers(), poolings);
        FeatureCache cache = FeatureCache.in(dir, key);
        long t0 = System.nanoTime();
        cache.write(key, features);
        double writeS = (System.nanoTime() - t0) / 1e9;
        List<Double> readS = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            t0 = System.nanoTime();
            FeatureKey again = FeatureKey.of(bert, inputs, tokens, features.layers(), poolings);   // what a cached run computes
            cache.read(again).orElseThrow();
            readS.add((System.nanoTime() - t0) / 1e9);
        }
        long bytes = Files.size(cache.file());

        // probes: 3,000 train and 1,000 dev rows of 768 features for 13 layers (the label carried more strongly by higher layers)
        int n = 3000, nDev = 1000, d = 768;
        List<Integer> layers = FeatureExtractor.allLayers(bert);
        int[] y = new int[n], yDev = new int[nDev];
        Features tr = synthetic(layers, n, d, y, r), dv = synthetic(layers, nDev, d, yDev, r);
        t0 = System.nanoTime();
        ProbeResult lin = Probing.probe(tr, y, dv, yDev, List.of("a", "b"), ProbeConfig.defaults(), ProbeListener.NONE);
        double linS = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        ProbeResult one = Probing.probe(tr, y, dv, yDev, List.of("a", "b"), ProbeConfig.defaults().withL2Grid(List.of(1e-2)), ProbeListener.NONE);
        double linOneS = (System.nanoTime() - t0) / 1e9;
        List<Integer> two = List.of(6, 12);
        t0 = System.nanoTime();
        ProbeResult mlp = Probing.probe(tr.select(two, List.of(Pooling.CLS)), y, dv.select(two, List.of(Pooling.CLS)), yDev, List.of("a", "b"),
                ProbeConfig.defaults().withL2Grid(List.of(1e-2)).withMlp(MlpProbe.Config.defaults()), ProbeListener.NONE);
        double mlpS = (System.nanoTime() - t0) / 1e9;
        int mlpEpochs = mlp.scores().stream().filter(s -> s.probe().equals(LayerScore.MLP)).mapToInt(LayerScore::iterations).sum();

        double plainMed = median(plainS), extractMed = median(extractS);
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "## Probing (BERT-base, %d texts of %d tokens, batch %d; %s cores, load average at start %s)%n%n",
                texts, tokens, batch, Runtime.getRuntime().availableProcessors(), loadAverage()));
        md.append("| what | time | examples/s |\n|---|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| plain forward of the same batches (median of %d: %s s) | %.1f s | %.1f |%n", rounds, fmt(plainS), plainMed, texts / plainMed));
        md.append(String.format(Locale.ROOT, "| feature extraction, 13 hidden states x CLS + mean (median of %d: %s s) | %.1f s | %.1f |%n", rounds, fmt(extractS), extractMed, texts / extractMed));
        md.append(String.format(Locale.ROOT, "| extraction / plain forward | %.3f | |%n", extractMed / plainMed));
        md.append(String.format(Locale.ROOT, "| write the cache (%.1f MB) | %.2f s | |%n", bytes / 1e6, writeS));
        md.append(String.format(Locale.ROOT, "| cached run: fingerprints + read (median of 3: %s s) | %.2f s | %.0f |%n", fmt(readS), median(readS), texts / median(readS)));
        md.append(String.format(Locale.ROOT, "| linear probes, 13 layers x 1 pooling, 3,000 x 768 train / 1,000 dev, λ grid of 4 | %.1f s | |%n", linS));
        md.append(String.format(Locale.ROOT, "| the same with one λ | %.1f s | |%n", linOneS));
        md.append(String.format(Locale.ROOT, "| MLP probes (256 hidden), 2 layers, %d epochs in all | %.1f s (%.2f s per epoch) | |%n", mlpEpochs, mlpS, mlpS / Math.max(1, mlpEpochs)));
        md.append(String.format(Locale.ROOT, "%nbest linear layer on the synthetic features: %d (accuracy %.3f; one-λ run %.3f)%n",
                lin.best(LayerScore.LINEAR).layer(), lin.best(LayerScore.LINEAR).accuracy(), one.best(LayerScore.LINEAR).accuracy()));
        return md.toString();
    }

    private static void plain(TransformerModel bert, List<Encoding> inputs, int batch) {
        for (int s = 0; s < inputs.size(); s += batch) {
            List<Encoding> part = inputs.subList(s, Math.min(inputs.size(), s + batch));
            int[][] ids = new int[part.size()][], mask = new int[part.size()][];
            for (int i = 0; i < part.size(); i++) {
                ids[i] = part.get(i).ids();
                mask[i] = part.get(i).attentionMask();
            }
            Batch b = new Batch(ids, null, mask);
            Workspaces.run(() -> {
                bert.forward(b, ForwardContext.inference(part.size()));
                return new INDArray[0];
            });
        }
    }

    private static Features synthetic(List<Integer> layers, int n, int d, int[] y, Random r) {
        Features f = new Features(layers, List.of(Pooling.CLS), n, d);
        double[] w = new double[d];
        Random wr = new Random(7);
        for (int j = 0; j < d; j++) w[j] = 0.1 * wr.nextGaussian();
        for (int i = 0; i < n; i++) y[i] = r.nextInt(2);
        for (int l : layers) {
            float[] x = f.matrix(l, Pooling.CLS);
            for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = (float) (r.nextGaussian() + (2 * y[i] - 1) * w[j] * l / 12.0);
        }
        return f;
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (Exception e) {
            return "?";
        }
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    static String fmt(List<Double> xs) {
        return String.join(", ", xs.stream().map(x -> String.format(Locale.ROOT, "%.2f", x)).toList());
    }
}
