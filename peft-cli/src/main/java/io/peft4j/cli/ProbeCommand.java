package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.probe.LabeledTexts;
import io.peft4j.probe.MlpProbe;
import io.peft4j.probe.ProbeConfig;
import io.peft4j.probe.ProbeListener;
import io.peft4j.probe.ProbeResult;
import io.peft4j.probe.Probing;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "What each frozen layer knows: features from every layer's output in one pass per batch (cached on disk), a linear probe "
                + "(softmax regression, L2, early stopping on dev) per layer and pooling, optionally an MLP probe; a table, JSON and a PNG plot.")
final class ProbeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Mixin
    DataOptions data;
    @Option(names = "--dev", paramLabel = "FILE|NAME",
            description = "Dev data for early stopping and the scores: a file, or a built-in dataset's dev split (default: a held-out fifth of --data).")
    String dev;
    @Option(names = "--pooling", paramLabel = "cls|mean|last[,...]",
            description = "How a layer's token states become one feature vector: cls (first token), mean (over real tokens), last (last real token); "
                    + "comma-separated for several (default: cls,mean for encoders, last,mean for decoders).")
    String pooling;
    @Option(names = "--layers", defaultValue = "all", paramLabel = "all|0,6,12",
            description = "Layers to probe: all, or their numbers (0 is the embeddings' output) (default: ${DEFAULT-VALUE}).")
    String layers;
    @Option(names = "--mlp", description = "Also fit a one-hidden-layer MLP probe per layer and pooling.")
    boolean mlp;
    @Option(names = "--max-length", defaultValue = "128", description = "Tokens per example (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--batch-size", defaultValue = "16", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Where features are cached (default: the peft4j cache's probe/ directory).")
    Path cacheDir;
    @Option(names = "--no-cache", description = "Neither read nor write the feature cache.")
    boolean noCache;
    @Option(names = "--json", description = "Print the result as JSON: one entry per layer, pooling and probe.")
    boolean json;
    @Option(names = "--plot", paramLabel = "FILE.png", description = "Write a PNG chart of accuracy by layer, one line per pooling (and probe).")
    Path plot;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (maxLength <= 0) throw new PeftException("--max-length must be positive, not " + maxLength);
        if (batchSize <= 0) throw new PeftException("--batch-size must be positive, not " + batchSize);
        if (plot != null && !plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new PeftException("--plot: '" + plot + "' is not a .png file");
        List<Integer> layerList;
        try {
            layerList = ProbeConfig.parseLayers(layers);
        } catch (PeftException | IllegalArgumentException e) {
            throw new PeftException("--layers: " + e.getMessage());
        }
        DataSpec dataSpec = data.spec();
        LabeledTexts train = LabeledTexts.of(data.records(dataSpec), dataSpec);
        LabeledTexts devTexts = dev == null ? null : LabeledTexts.of(DataOptions.dev(dev, dataSpec), dataSpec);
        Path dir = ModelHub.resolve(model);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        ProbeConfig cfg = ProbeConfig.defaults().withPoolings(poolings(base)).withLayers(layerList).withMaxLength(maxLength).withBatchSize(batchSize);
        if (mlp) cfg = cfg.withMlp(MlpProbe.Config.defaults());
        if (!noCache) cfg = cfg.withCacheDirectory(cacheDir != null ? cacheDir : ModelHub.cacheRoot().resolve("probe"));
        Map<ProbeListener.Stage, Progress> bars = new EnumMap<>(ProbeListener.Stage.class);
        ProbeResult result;
        try {
            ProbeListener listener = (stage, done, total) -> {
                Progress bar = bars.computeIfAbsent(stage, s -> Progress.start(s == ProbeListener.Stage.EXTRACT ? "features" : "probes", total, progress.on()));
                bar.stepTo(done);
            };
            result = Probing.run(base, Tokenizers.load(dir), model, train, devTexts, cfg, listener);
        } finally {
            bars.values().forEach(Progress::close);
        }
        if (plot != null) result.writePlot(plot);
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(Common.json(result.toJson()));
        } else {
            out.print(result.markdown());
            if (plot != null) out.println("\nplot: " + plot);
        }
        out.flush();
    }

    private List<Pooling> poolings(TransformerModel base) {
        if (pooling == null) return ProbeConfig.defaultPoolings(base.config());
        List<Pooling> out = new ArrayList<>();
        for (String p : pooling.split(",")) {
            try {
                out.add(Pooling.valueOf(p.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new PeftException("--pooling: '" + p.trim() + "' is not cls, mean or last");
            }
        }
        return out;
    }
}
