package io.peft4j.probe;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.ModelConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a probing run does: which hidden states and poolings, how inputs are cut and batched, the probes,
 * and where features are cached. Start from {@link #defaults()} and change fields with the {@code with...}
 * methods (each returns a new config), or several at once with {@link #builder()}.
 *
 * <pre>{@code
 * ProbeConfig cfg = ProbeConfig.defaults()
 *         .withPoolings(List.of(Pooling.CLS, Pooling.MEAN))
 *         .withLayers(ProbeConfig.parseLayers("0,6,12"))
 *         .withMlp(MlpProbe.Config.defaults())
 *         .withCacheDirectory(Path.of("probe-cache"));
 * }</pre>
 *
 * @param poolings         poolings computed from each pass (a probe per layer and pooling)
 * @param layers           hidden-state indices ({@code 0} = embeddings, {@code L} = last layer); empty = all
 * @param maxLength        tokens per example at most (capped at the model's positions); longer inputs are truncated
 * @param batchSize        examples per forward pass
 * @param linear           the linear probe's settings (its {@code l2} is replaced by each value of {@code l2Grid})
 * @param l2Grid           L2 strengths λ to try for the linear probe: each layer keeps the one with the lowest dev loss
 * @param mlp              the MLP probe's settings, or null for no MLP probe
 * @param heldOutFraction  without dev data: the fraction of train held out (stratified) as dev
 * @param seed             the held-out split's seed
 * @param cacheFile        a feature cache file, or null
 * @param cacheDirectory   a directory for feature caches named by model, data and length, or null (ignored when a cache file is given)
 */
public record ProbeConfig(List<Pooling> poolings, List<Integer> layers, int maxLength, int batchSize, LinearProbe.Config linear,
                          List<Double> l2Grid, MlpProbe.Config mlp, double heldOutFraction, long seed, Path cacheFile, Path cacheDirectory) {
    public ProbeConfig {
        poolings = List.copyOf(poolings);
        layers = List.copyOf(layers);
        if (poolings.isEmpty() || poolings.stream().distinct().count() != poolings.size()) throw new PeftException("poolings must be distinct and not empty: " + poolings);
        if (maxLength < 1) throw new PeftException("max length " + maxLength + " must be positive");
        if (batchSize < 1) throw new PeftException("batch size " + batchSize + " must be positive");
        if (!(heldOutFraction > 0 && heldOutFraction < 1)) throw new PeftException("held-out fraction " + heldOutFraction + " must lie in (0, 1)");
        if (linear == null) throw new PeftException("the linear probe's config is required");
        l2Grid = List.copyOf(l2Grid);
        if (l2Grid.isEmpty()) throw new PeftException("no L2 strength to try");
        for (double l2 : l2Grid) if (!(l2 >= 0)) throw new PeftException("L2 strength " + l2 + " must be >= 0");
    }

    /**
     * CLS and MEAN pooling, all layers, 128 tokens, batches of 16, the default linear probe with λ chosen from
     * 1e-3, 1e-2, 1e-1 and 1, no MLP, 20% held out, seed 42, no cache.
     */
    public static ProbeConfig defaults() {
        return new ProbeConfig(List.of(Pooling.CLS, Pooling.MEAN), List.of(), 128, 16, LinearProbe.Config.defaults(), List.of(1e-3, 1e-2, 1e-1, 1.0),
                null, 0.2, 42, null, null);
    }

    /**
     * The usual poolings for a model: the sequence summary its classification head reads (an encoder's CLS, a
     * decoder's last token) and the mean.
     */
    public static List<Pooling> defaultPoolings(ModelConfig model) {
        return model.architecture().decoder() ? List.of(Pooling.LAST, Pooling.MEAN) : List.of(Pooling.CLS, Pooling.MEAN);
    }

    /** {@code "all"} (an empty list) or comma-separated hidden-state indices such as {@code "0,6,12"}. */
    public static List<Integer> parseLayers(String spec) {
        String s = spec.trim();
        if (s.equalsIgnoreCase("all")) return List.of();
        List<Integer> out = new ArrayList<>();
        for (String part : s.split(",")) {
            try {
                int l = Integer.parseInt(part.trim());
                if (l < 0) throw new NumberFormatException();
                if (out.contains(l)) throw new PeftException("layers '" + spec + "': layer " + l + " is listed twice");
                out.add(l);
            } catch (NumberFormatException e) {
                throw new PeftException("layers '" + spec + "': '" + part.trim() + "' is not a layer index (0 = embeddings, 1..L) or 'all'");
            }
        }
        return out;
    }

    /** This config with poolings {@code p}. */
    public ProbeConfig withPoolings(List<Pooling> p) {
        return toBuilder().poolings(p).build();
    }

    /** This config with hidden states {@code l} (empty: all). */
    public ProbeConfig withLayers(List<Integer> l) {
        return toBuilder().layers(l).build();
    }

    /** This config truncating inputs to {@code n} tokens. */
    public ProbeConfig withMaxLength(int n) {
        return toBuilder().maxLength(n).build();
    }

    /** This config with {@code n} examples per forward pass. */
    public ProbeConfig withBatchSize(int n) {
        return toBuilder().batchSize(n).build();
    }

    /** This config with linear-probe settings {@code c}. */
    public ProbeConfig withLinear(LinearProbe.Config c) {
        return toBuilder().linear(c).build();
    }

    /** The L2 strengths to try for the linear probe (one value: a fixed λ). */
    public ProbeConfig withL2Grid(List<Double> grid) {
        return toBuilder().l2Grid(grid).build();
    }

    /** Adds the MLP probe with these settings (null: no MLP probe). */
    public ProbeConfig withMlp(MlpProbe.Config c) {
        return toBuilder().mlp(c).build();
    }

    /** This config holding out {@code fraction} of train (seeded by {@code splitSeed}) when no dev data is given. */
    public ProbeConfig withHeldOut(double fraction, long splitSeed) {
        return toBuilder().heldOut(fraction, splitSeed).build();
    }

    /** This config caching features in {@code file} (null: no cache file). */
    public ProbeConfig withCacheFile(Path file) {
        return toBuilder().cacheFile(file).build();
    }

    /** This config caching features in {@code dir}, one file per model, data and length (null: none). */
    public ProbeConfig withCacheDirectory(Path dir) {
        return toBuilder().cacheDirectory(dir).build();
    }

    /**
     * A builder starting from {@link #defaults()}, e.g.
     * {@code ProbeConfig.builder().layers(List.of(0, 6, 12)).mlp(MlpProbe.Config.defaults()).build()}.
     */
    public static Builder builder() {
        return defaults().toBuilder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.poolings = poolings;
        b.layers = layers;
        b.maxLength = maxLength;
        b.batchSize = batchSize;
        b.linear = linear;
        b.l2Grid = l2Grid;
        b.mlp = mlp;
        b.heldOutFraction = heldOutFraction;
        b.seed = seed;
        b.cacheFile = cacheFile;
        b.cacheDirectory = cacheDirectory;
        return b;
    }

    /** Builds a {@link ProbeConfig}; each setter names the record component it sets, {@link #build} checks them all. */
    public static final class Builder {
        private List<Pooling> poolings;
        private List<Integer> layers;
        private int maxLength, batchSize;
        private LinearProbe.Config linear;
        private List<Double> l2Grid;
        private MlpProbe.Config mlp;
        private double heldOutFraction;
        private long seed;
        private Path cacheFile, cacheDirectory;

        private Builder() {
        }

        public Builder poolings(List<Pooling> p) {
            poolings = p;
            return this;
        }

        public Builder layers(List<Integer> l) {
            layers = l;
            return this;
        }

        public Builder maxLength(int n) {
            maxLength = n;
            return this;
        }

        public Builder batchSize(int n) {
            batchSize = n;
            return this;
        }

        public Builder linear(LinearProbe.Config c) {
            linear = c;
            return this;
        }

        public Builder l2Grid(List<Double> grid) {
            l2Grid = grid;
            return this;
        }

        public Builder mlp(MlpProbe.Config c) {
            mlp = c;
            return this;
        }

        /** {@code heldOutFraction} and the {@code seed} of its split. */
        public Builder heldOut(double fraction, long splitSeed) {
            heldOutFraction = fraction;
            seed = splitSeed;
            return this;
        }

        public Builder cacheFile(Path file) {
            cacheFile = file;
            return this;
        }

        public Builder cacheDirectory(Path dir) {
            cacheDirectory = dir;
            return this;
        }

        public ProbeConfig build() {
            return new ProbeConfig(poolings, layers, maxLength, batchSize, linear, l2Grid, mlp, heldOutFraction, seed, cacheFile, cacheDirectory);
        }
    }
}
