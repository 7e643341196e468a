package io.peft4j.probe;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.SafeTensors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Features on disk: one safetensors file, a float32 tensor {@code layer.<i>.<pooling>} of shape
 * {@code [rows, dim]} per layer and pooling, and the {@link FeatureKey} in the header's metadata. A file built
 * for another model or other data, or one that cannot be read (truncated, corrupt, not a feature cache), is
 * never used: {@link #read} logs why and answers nothing, and {@link #getOrCompute} rebuilds it. Writes are
 * atomic (a temporary file, then a rename).
 *
 * <pre>{@code
 * FeatureCache cache = new FeatureCache(Path.of("features.safetensors"));
 * Features f = cache.getOrCompute(key, () -> extractor.extract(inputs, listener));   // the model runs only on a miss
 * }</pre>
 */
public final class FeatureCache {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureCache.class);

    private final Path file;

    /** A cache in {@code file} (which need not exist yet). */
    public FeatureCache(Path file) {
        this.file = file;
    }

    /** A cache in {@code dir} named after the key's model, data and maximum length. */
    public static FeatureCache in(Path dir, FeatureKey key) {
        return new FeatureCache(dir.resolve(key.fileStem() + ".safetensors"));
    }

    /** The cache file (which may not exist yet). */
    public Path file() {
        return file;
    }

    /** The cached features for {@code key} (only its layers and poolings), or empty when the file is missing, foreign or unreadable. */
    public Optional<Features> read(FeatureKey key) {
        if (!Files.isRegularFile(file)) {
            LOG.debug("no feature cache at {}", file);
            return Optional.empty();
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            FeatureKey stored = FeatureKey.fromMetadata(st.metadata());
            if (stored == null) {
                LOG.warn("{} is not a peft4j feature cache of format {}: rebuilding it", file, FeatureKey.FORMAT);
                return Optional.empty();
            }
            if (!stored.covers(key)) {
                LOG.info("feature cache {} was built for {}: rebuilding it", file, stored.mismatch(key));
                return Optional.empty();
            }
            Features f = new Features(key.layers(), key.poolings(), key.rows(), key.dim());
            for (int l : key.layers()) {
                for (Pooling p : key.poolings()) {
                    String name = tensorName(l, p);
                    long[] want = {key.rows(), key.dim()};
                    if (!st.names().contains(name) || !Arrays.equals(st.shape(name), want)) {
                        LOG.warn("feature cache {} lacks tensor {} of shape {}: rebuilding it", file, name, Arrays.toString(want));
                        return Optional.empty();
                    }
                    if (key.rows() == 0) continue;
                    float[] v = st.load(name, DataType.FLOAT).reshape(-1).toFloatVector();
                    System.arraycopy(v, 0, f.matrix(l, p), 0, v.length);
                }
            }
            LOG.info("read features of {} examples ({} layers x {} poolings) from cache {}", key.rows(), key.layers().size(), key.poolings().size(), file);
            return Optional.of(f);
        } catch (PeftException e) {
            LOG.warn("feature cache {} is unreadable ({}): rebuilding it", file, e.getMessage());
            return Optional.empty();
        }
    }

    /** Writes {@code features} under {@code key}, replacing the file atomically. */
    public void write(FeatureKey key, Features features) {
        if (features.rows() != key.rows() || features.dim() != key.dim() || !features.layers().equals(key.layers()) || !features.poolings().equals(key.poolings())) {
            throw new IllegalArgumentException("features of " + features.layers() + " x " + features.poolings() + " do not match the key's " + key.layers() + " x " + key.poolings());
        }
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (int l : key.layers()) {
            for (Pooling p : key.poolings()) {
                tensors.put(tensorName(l, p), Nd4j.create(features.matrix(l, p), new long[]{key.rows(), key.dim()}, 'c'));
            }
        }
        SafeTensors.write(file, tensors, key.metadata());
        LOG.info("wrote feature cache {}", file);
    }

    /** The cached features for {@code key}, or {@code compute}'s, which are then written to the cache. */
    public Features getOrCompute(FeatureKey key, Supplier<Features> compute) {
        Optional<Features> hit = read(key);
        if (hit.isPresent()) return hit.get();
        Features f = compute.get();
        write(key, f);
        return f;
    }

    static String tensorName(int layer, Pooling p) {
        return "layer." + layer + "." + p.name().toLowerCase(java.util.Locale.ROOT);
    }
}
