package io.peft4j.probe;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * A probing run's report: accuracy and macro-F1 on the dev set per layer, pooling and probe, with writers
 * for a Markdown table ({@link #markdown}), JSON ({@link #toJson}, {@link #writeJson}) and a PNG chart of
 * accuracy by layer ({@link #writePlot}).
 *
 * <pre>{@code
 * ProbeResult r = Probing.run(model, tokenizer, "bert-base-uncased", train, dev, ProbeConfig.defaults(), ProbeListener.NONE);
 * LayerScore best = r.best(LayerScore.LINEAR);
 * r.writeJson(Path.of("probe.json"));
 * r.writePlot(Path.of("probe.png"));
 * }</pre>
 *
 * @param model            the model's name
 * @param labels           class names (the label indices' meaning)
 * @param trainExamples    rows the probes were fitted on
 * @param devExamples      rows they were early-stopped and scored on
 * @param devSource        {@code "dev"} or how the dev rows were held out of train
 * @param majorityAccuracy dev accuracy of always answering the most frequent training label
 * @param scores           one entry per layer, pooling and probe, in layer order
 * @param extraction       how the features were obtained, or null when probing given features
 * @param probeSeconds     time spent fitting and scoring the probes
 */
public record ProbeResult(String model, List<String> labels, int trainExamples, int devExamples, String devSource, double majorityAccuracy,
                          List<LayerScore> scores, Extraction extraction, double probeSeconds) {
    public ProbeResult {
        labels = List.copyOf(labels);
        scores = List.copyOf(scores);
    }

    /**
     * How the features were obtained.
     *
     * @param fromCache whether they were read from the cache (the model did not run)
     * @param seconds   time to extract or read them
     * @param examples  examples (train and dev) they cover
     * @param cache     the cache file, or null without a cache
     */
    public record Extraction(boolean fromCache, double seconds, int examples, Path cache) {
    }

    /** This result with the model's name and the extraction's record. */
    public ProbeResult withSource(String modelName, Extraction e) {
        return new ProbeResult(modelName, labels, trainExamples, devExamples, devSource, majorityAccuracy, scores, e, probeSeconds);
    }

    /** The layers scored, ascending. */
    public List<Integer> layers() {
        return scores.stream().map(LayerScore::layer).distinct().sorted().toList();
    }

    /** The poolings scored, in run order. */
    public List<Pooling> poolings() {
        return scores.stream().map(LayerScore::pooling).distinct().toList();
    }

    /** The probe kinds scored ({@link LayerScore#LINEAR}, then {@link LayerScore#MLP} if run). */
    public List<String> probes() {
        return scores.stream().map(LayerScore::probe).distinct().toList();
    }

    /** The scores of one probe kind, best first: by accuracy, then macro-F1, then the lower dev loss. */
    public List<LayerScore> ranking(String probe) {
        return scores.stream().filter(s -> s.probe().equals(probe))
                .sorted(Comparator.comparingDouble(LayerScore::accuracy).reversed()
                        .thenComparing(Comparator.comparingDouble(LayerScore::macroF1).reversed())
                        .thenComparingDouble(LayerScore::devLoss))
                .toList();
    }

    /** The best score of one probe kind ({@link #ranking}'s first). */
    public LayerScore best(String probe) {
        List<LayerScore> r = ranking(probe);
        if (r.isEmpty()) throw new IllegalArgumentException("no " + probe + " probe in this result");
        return r.get(0);
    }

    /** The score of one layer, pooling and probe kind. */
    public LayerScore score(int layer, Pooling pooling, String probe) {
        return scores.stream().filter(s -> s.layer() == layer && s.pooling() == pooling && s.probe().equals(probe)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no score for layer " + layer + ", " + pooling + ", " + probe));
    }

    /**
     * A Markdown table: one row per layer; for each probe and pooling, dev accuracy and macro-F1 (the best
     * accuracy of each column in bold), under a line naming the model, the data sizes and the majority baseline.
     */
    public String markdown() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Probing %s: %d train, %d dev (%s), labels %s; majority baseline %.4f accuracy%n%n",
                model.isEmpty() ? "features" : model, trainExamples, devExamples, devSource, labels, majorityAccuracy));
        List<String[]> cols = new ArrayList<>();
        for (String probe : probes()) for (Pooling p : poolings()) cols.add(new String[]{probe, p.name()});
        b.append("| layer |");
        for (String[] c : cols) b.append(' ').append(c[0]).append(' ').append(c[1]).append(" acc | ").append(c[0]).append(' ').append(c[1]).append(" F1 |");
        b.append("\n|---:|");
        b.append("---:|---:|".repeat(cols.size()));
        b.append('\n');
        for (int l : layers()) {
            b.append("| ").append(l == 0 ? "0 (embeddings)" : Integer.toString(l)).append(" |");
            for (String[] c : cols) {
                Pooling p = Pooling.valueOf(c[1]);
                LayerScore s = score(l, p, c[0]);
                double top = scores.stream().filter(x -> x.probe().equals(c[0]) && x.pooling() == p).mapToDouble(LayerScore::accuracy).max().orElse(0);
                String acc = String.format(Locale.ROOT, "%.4f", s.accuracy());
                b.append(' ').append(s.accuracy() == top ? "**" + acc + "**" : acc).append(" | ")
                        .append(String.format(Locale.ROOT, "%.4f", s.macroF1())).append(" |");
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** The report as JSON: the run's description and one entry per layer, pooling and probe under {@code results}. */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("model", model);
        ArrayNode ls = o.putArray("labels");
        labels.forEach(ls::add);
        o.put("train_examples", trainExamples);
        o.put("dev_examples", devExamples);
        o.put("dev_source", devSource);
        o.put("majority_accuracy", majorityAccuracy);
        if (extraction != null) {
            ObjectNode f = o.putObject("features");
            f.put("from_cache", extraction.fromCache());
            f.put("seconds", extraction.seconds());
            f.put("examples", extraction.examples());
            if (extraction.cache() != null) f.put("cache", extraction.cache().toString());
            else f.putNull("cache");
        }
        o.put("probe_seconds", probeSeconds);
        ArrayNode rs = o.putArray("results");
        for (LayerScore s : scores) {
            ObjectNode r = rs.addObject();
            r.put("layer", s.layer());
            r.put("pooling", s.pooling().name().toLowerCase(Locale.ROOT));
            r.put("probe", s.probe());
            r.put("accuracy", s.accuracy());
            r.put("macro_f1", s.macroF1());
            r.put("dev_loss", s.devLoss());
            r.put("iterations", s.iterations());
            if (Double.isNaN(s.l2())) r.putNull("l2");
            else r.put("l2", s.l2());
        }
        return o;
    }

    /** Writes {@link #toJson} to {@code file} atomically. */
    public void writeJson(Path file) {
        Json.write(file, toJson());
    }

    /** Writes the accuracy-by-layer chart as an 800 x 500 PNG, atomically. */
    public void writePlot(Path png) {
        writePlot(png, 800, 500);
    }

    /** Writes the accuracy-by-layer chart as a {@code width} x {@code height} PNG, atomically. */
    public void writePlot(Path png, int width, int height) {
        ProbePlot.write(this, png, width, height);
    }
}
