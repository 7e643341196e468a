package io.peft4j.probe;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Layer-by-layer probing of a frozen model: features of every selected layer from one pass per batch (or
 * from the feature cache, without running the model), then a linear probe (and optionally an MLP probe)
 * per layer and pooling, each early-stopped and scored on the dev set. No gradient flows into the model.
 *
 * <pre>{@code
 * TransformerModel bert = Models.load(ModelHub.resolve("bert-base-uncased"), DataType.FLOAT);
 * Tokenizer tok = Tokenizers.load(ModelHub.resolve("bert-base-uncased"));
 * ProbeResult r = Probing.run(bert, tok, "bert-base-uncased", train, dev, ProbeConfig.defaults(), ProbeListener.NONE);
 * System.out.println(r.markdown());
 * r.writePlot(Path.of("probe.png"));
 * }</pre>
 */
public final class Probing {
    private static final Logger LOG = LoggerFactory.getLogger(Probing.class);

    private Probing() {
    }

    /**
     * Probes {@code model} on {@code train}, scoring on {@code dev} (null: a stratified held-out part of train,
     * {@link ProbeConfig#heldOutFraction()}). Train and dev go through the model together, so one cache holds both.
     *
     * @param modelName the model's name for the report
     */
    public static ProbeResult run(TransformerModel model, Tokenizer tokenizer, String modelName, LabeledTexts train, LabeledTexts dev,
                                  ProbeConfig cfg, ProbeListener listener) {
        if (train.size() == 0) throw new PeftException("the training data is empty");
        if (dev != null && dev.size() == 0) throw new PeftException("the dev data is empty");
        List<String> labelNames = labelNames(train, dev);
        int maxLength = Math.min(cfg.maxLength(), model.config().maxPositions());
        if (maxLength < cfg.maxLength()) LOG.info("max length {} is longer than the model's {} positions: using {}", cfg.maxLength(), maxLength, maxLength);
        List<Encoding> inputs = new ArrayList<>(FeatureExtractor.encode(tokenizer, train.texts(), train.pairs(), maxLength));
        if (dev != null) inputs.addAll(FeatureExtractor.encode(tokenizer, dev.texts(), dev.pairs(), maxLength));
        List<Integer> layers = cfg.layers().isEmpty() ? FeatureExtractor.allLayers(model) : cfg.layers();
        FeatureExtractor extractor = new FeatureExtractor(model, layers, cfg.poolings(), cfg.batchSize());

        long t0 = System.nanoTime();
        Features features;
        Path cacheFile = null;
        boolean[] ran = {false};
        java.util.function.Supplier<Features> compute = () -> {
            ran[0] = true;
            return extractor.extract(inputs, listener);
        };
        if (cfg.cacheFile() != null || cfg.cacheDirectory() != null) {
            FeatureKey key = FeatureKey.of(model, inputs, maxLength, layers, cfg.poolings());
            FeatureCache cache = cfg.cacheFile() != null ? new FeatureCache(cfg.cacheFile()) : FeatureCache.in(cfg.cacheDirectory(), key);
            cacheFile = cache.file();
            features = cache.getOrCompute(key, compute);
        } else {
            features = compute.get();
        }
        var extraction = new ProbeResult.Extraction(!ran[0], (System.nanoTime() - t0) / 1e9, inputs.size(), cacheFile);

        int n = train.size();
        int[] yTrain = indices(train.labels(), labelNames);
        Features trainF = dev == null ? features : features.head(n);
        Features devF = dev == null ? null : features.tail(n);
        int[] yDev = dev == null ? null : indices(dev.labels(), labelNames);
        return probe(trainF, yTrain, devF, yDev, labelNames, cfg, listener).withSource(modelName, extraction);
    }

    /**
     * Probes given features: for every layer and pooling of {@code train}, a linear probe (and an MLP probe if
     * configured) fitted on train, early-stopped on dev and scored on dev; the linear probe is fitted with every
     * λ of {@link ProbeConfig#l2Grid()} and the one with the lowest dev loss is kept. Without dev ({@code null}), a
     * stratified {@link ProbeConfig#heldOutFraction()} of train is held out as dev.
     *
     * @param labelNames the class names; labels are indices into it
     */
    public static ProbeResult probe(Features train, int[] trainLabels, Features dev, int[] devLabels, List<String> labelNames,
                                    ProbeConfig cfg, ProbeListener listener) {
        int classes = labelNames.size();
        if (train.rows() == 0) throw new PeftException("the training data is empty");
        if (trainLabels.length != train.rows()) throw new IllegalArgumentException(trainLabels.length + " labels for " + train.rows() + " rows");
        String devSource = "dev";
        if (dev == null) {
            int[][] split = stratifiedSplit(trainLabels, classes, cfg.heldOutFraction(), cfg.seed());
            dev = train.rows(split[1]);
            devLabels = pick(trainLabels, split[1]);
            train = train.rows(split[0]);
            trainLabels = pick(trainLabels, split[0]);
            devSource = String.format(java.util.Locale.ROOT, "held-out %.0f%% of train", 100 * cfg.heldOutFraction());
        } else if (dev.rows() == 0) {
            throw new PeftException("the dev data is empty");
        }
        if (devLabels.length != dev.rows()) throw new IllegalArgumentException(devLabels.length + " labels for " + dev.rows() + " rows");
        List<Integer> layers = train.layers();
        List<Pooling> poolings = train.poolings();
        int kinds = cfg.mlp() == null ? 1 : 2, total = layers.size() * poolings.size() * kinds, done = 0;
        List<LayerScore> scores = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int l : layers) {
            for (Pooling p : poolings) {
                var tr = new LabeledFeatures(train.matrix(l, p), train.rows(), train.dim(), trainLabels);
                var dv = new LabeledFeatures(dev.matrix(l, p), dev.rows(), dev.dim(), devLabels);
                LinearProbe linear = null;
                for (double l2 : cfg.l2Grid()) {
                    LinearProbe candidate = LinearProbe.fit(tr, dv, classes, cfg.linear().withL2(l2));
                    if (linear == null || candidate.stoppingLoss() < linear.stoppingLoss()) linear = candidate;
                }
                scores.add(score(linear, LayerScore.LINEAR, l, p, dv, classes, linear.l2()));
                listener.progress(ProbeListener.Stage.PROBE, ++done, total);
                if (cfg.mlp() != null) {
                    scores.add(score(MlpProbe.fit(tr, dv, classes, cfg.mlp()), LayerScore.MLP, l, p, dv, classes, Double.NaN));
                    listener.progress(ProbeListener.Stage.PROBE, ++done, total);
                }
            }
        }
        LOG.info("fitted {} probes on {} x {} features in {} ms", total, train.rows(), train.dim(), (System.nanoTime() - t0) / 1_000_000);
        return new ProbeResult("", labelNames, train.rows(), dev.rows(), devSource, Metrics.majorityBaseline(trainLabels, devLabels, classes),
                scores, null, (System.nanoTime() - t0) / 1e9);
    }

    private static LayerScore score(Probe probe, String kind, int layer, Pooling p, LabeledFeatures dev, int classes, double l2) {
        int[] predicted = probe.predict(dev.x(), dev.rows());
        return new LayerScore(layer, p, kind, Metrics.accuracy(dev.labels(), predicted), Metrics.macroF1(dev.labels(), predicted, classes),
                probe.loss(dev), probe.iterations(), l2);
    }

    /** The distinct training labels, sorted; dev labels must be among them. */
    static List<String> labelNames(LabeledTexts train, LabeledTexts dev) {
        List<String> names = List.copyOf(new TreeSet<>(train.labels()));
        if (names.size() < 2) throw new PeftException("the training data has only one label ('" + names.get(0) + "'): a probe needs at least two");
        if (dev != null) {
            Map<String, Integer> missing = new LinkedHashMap<>();
            for (String y : dev.labels()) if (!names.contains(y)) missing.merge(y, 1, Integer::sum);
            if (!missing.isEmpty()) {
                List<String> parts = missing.entrySet().stream().map(e -> "'" + e.getKey() + "' (" + e.getValue() + " examples)").toList();
                throw new PeftException("dev labels missing from the training data: " + String.join(", ", parts)
                        + "; a probe can only predict the labels it was trained on (training labels: " + names + ")");
            }
        }
        return names;
    }

    private static int[] indices(List<String> labels, List<String> names) {
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) index.put(names.get(i), i);
        return labels.stream().mapToInt(index::get).toArray();
    }

    private static int[] pick(int[] a, int[] idx) {
        int[] out = new int[idx.length];
        for (int i = 0; i < idx.length; i++) out[i] = a[idx[i]];
        return out;
    }

    /**
     * Row indices {@code [kept, heldOut]}: of each class's rows, a seeded random {@code fraction} (rounded, at least
     * one for a class with two or more rows) is held out; both lists ascending.
     */
    static int[][] stratifiedSplit(int[] labels, int classes, double fraction, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        boolean[] held = new boolean[labels.length];
        for (int c = 0; c < classes; c++) {
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) if (labels[i] == c) rows.add(i);
            for (int i = rows.size() - 1; i > 0; i--) java.util.Collections.swap(rows, i, rng.nextInt(i + 1));
            int take = rows.size() < 2 ? 0 : Math.max(1, (int) Math.round(fraction * rows.size()));
            for (int i = 0; i < take; i++) held[rows.get(i)] = true;
        }
        int h = 0;
        for (boolean b : held) if (b) h++;
        if (h == 0 || h == labels.length) throw new PeftException("too few training examples (" + labels.length + ") to hold out a dev set: give dev data");
        int[] kept = new int[labels.length - h], out = new int[h];
        for (int i = 0, a = 0, b = 0; i < labels.length; i++) {
            if (held[i]) out[b++] = i;
            else kept[a++] = i;
        }
        return new int[][]{kept, out};
    }
}
