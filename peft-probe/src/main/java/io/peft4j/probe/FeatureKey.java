package io.peft4j.probe;

import io.peft4j.core.head.Pooling;
import io.peft4j.core.hooks.Hook;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.io.Sha256;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Encoding;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a feature cache was computed from: the model, the data, the maximum length, the layers and poolings.
 * A cache answers a request whose model, data and maximum length are the same and whose layers and poolings
 * it holds ({@link #covers}).
 *
 * <pre>{@code
 * FeatureKey key = FeatureKey.of(bert, inputs, 128, List.of(0, 6, 12), List.of(Pooling.CLS));
 * }</pre>
 *
 * @param model     {@link #modelFingerprint} of the model
 * @param data      {@link #dataFingerprint} of the encoded inputs
 * @param maxLength the maximum length the inputs were truncated to
 * @param layers    hidden-state indices
 * @param poolings  poolings
 * @param rows      number of examples
 * @param dim       feature width (the model's hidden size)
 */
public record FeatureKey(String model, String data, int maxLength, List<Integer> layers, List<Pooling> poolings, int rows, int dim) {
    /** Bumped when the cache layout or the meaning of a feature changes: older caches are then rebuilt. */
    static final String FORMAT = "peft4j-probe-features/1";

    public FeatureKey {
        layers = List.copyOf(layers);
        poolings = List.copyOf(poolings);
    }

    /** The key of {@code inputs} through {@code model}. */
    public static FeatureKey of(TransformerModel model, List<Encoding> inputs, int maxLength, List<Integer> layers, List<Pooling> poolings) {
        return new FeatureKey(modelFingerprint(model), dataFingerprint(inputs), maxLength, layers, poolings, inputs.size(), model.config().hidden());
    }

    /** Whether features stored under this key answer {@code request}: same model, data and length; its layers and poolings among these. */
    public boolean covers(FeatureKey request) {
        return model.equals(request.model) && data.equals(request.data) && maxLength == request.maxLength && rows == request.rows
                && dim == request.dim && layers.containsAll(request.layers) && poolings.containsAll(request.poolings);
    }

    /** Why this key does not cover {@code request}, in words ("another model", ...). */
    public String mismatch(FeatureKey request) {
        List<String> why = new ArrayList<>();
        if (!model.equals(request.model) || dim != request.dim) why.add("another model");
        if (!data.equals(request.data) || rows != request.rows) why.add("other data (" + rows + " examples, fingerprint " + data.substring(0, 12) + ")");
        if (maxLength != request.maxLength) why.add("max length " + maxLength);
        if (!layers.containsAll(request.layers)) why.add("layers " + layers);
        if (!poolings.containsAll(request.poolings)) why.add("poolings " + poolings);
        return why.isEmpty() ? "the same request" : String.join(", ", why);
    }

    /** The key as safetensors metadata. */
    public Map<String, String> metadata() {
        Map<String, String> m = new TreeMap<>();
        m.put("format", FORMAT);
        m.put("model", model);
        m.put("data", data);
        m.put("max_length", Integer.toString(maxLength));
        m.put("layers", String.join(",", layers.stream().map(String::valueOf).toList()));
        m.put("poolings", String.join(",", poolings.stream().map(Pooling::name).toList()));
        m.put("rows", Integer.toString(rows));
        m.put("dim", Integer.toString(dim));
        return m;
    }

    /** The key stored in a cache's metadata; null when the metadata is not a feature cache's of this format. */
    static FeatureKey fromMetadata(Map<String, String> m) {
        if (!FORMAT.equals(m.get("format"))) return null;
        if (!isSha256(m.get("model")) || !isSha256(m.get("data"))) return null;      // fingerprints as modelFingerprint/dataFingerprint write them
        try {
            List<Integer> layers = Arrays.stream(m.get("layers").split(",")).map(Integer::valueOf).toList();
            List<Pooling> poolings = Arrays.stream(m.get("poolings").split(",")).map(Pooling::valueOf).toList();
            int rows = Integer.parseInt(m.get("rows")), dim = Integer.parseInt(m.get("dim"));
            if (rows < 0 || dim <= 0) return null;
            return new FeatureKey(m.get("model"), m.get("data"), Integer.parseInt(m.get("max_length")), layers, poolings, rows, dim);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static boolean isSha256(String s) {
        return s != null && s.matches("[0-9a-f]{64}");
    }

    /** The key's hash, for file names: the model, data and maximum length only (layers and poolings may grow). */
    public String fileStem() {
        return "features-" + model.substring(0, 16) + "-" + data.substring(0, 16) + "-" + maxLength;
    }

    /**
     * SHA-256 of what determines the model's hidden states: its config, data type, every parameter's name and shape
     * with 64 of its values (evenly spaced, exact bits), and the class of every hook installed on it (adapters
     * change the features; their weights are not hashed). Different checkpoints, fine-tuned weights or an
     * added method give a different fingerprint; the same model loaded twice gives the same one.
     */
    public static String modelFingerprint(TransformerModel model) {
        MessageDigest md = Sha256.digest();
        Sha256.update(md, model.config().toJson().toString());
        Sha256.update(md, model.dataType().toString());
        Map<String, Tensor> params = new TreeMap<>(model.parameters());
        ByteBuffer buf = ByteBuffer.allocate(8);
        for (var e : params.entrySet()) {
            Sha256.update(md, e.getKey());
            INDArray a = e.getValue().value();
            Sha256.update(md, Arrays.toString(a.shape()));
            long n = a.length();
            int samples = (int) Math.min(64, n);
            for (int i = 0; i < samples; i++) {
                long at = samples == 1 ? 0 : i * (n - 1) / (samples - 1);
                md.update(buf.clear().putLong(Double.doubleToLongBits(a.getDouble(indexOf(at, a.shape())))).array());
            }
        }
        Map<String, List<String>> hooks = new LinkedHashMap<>();
        for (HookSite s : model.hooks().sites()) {
            for (Hook h : model.hooks().at(s.name(), Hook.class)) hooks.computeIfAbsent(s.name(), k -> new ArrayList<>()).add(stableName(h.getClass()));
        }
        Sha256.update(md, hooks.toString());
        return Sha256.hex(md);
    }

    /** The row-major indices of element {@code at} of an array of {@code shape}. */
    private static long[] indexOf(long at, long[] shape) {
        long[] idx = new long[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            idx[k] = at % shape[k];
            at /= shape[k];
        }
        return idx;
    }

    /** A class's name without the per-run suffix of a lambda's hidden class ({@code Foo$$Lambda/0x...}). */
    private static String stableName(Class<?> c) {
        String n = c.getName();
        int i = n.indexOf("$$Lambda");
        return i < 0 ? n : n.substring(0, i) + "$$Lambda";
    }

    /** SHA-256 of the encoded inputs in order: token ids, token types and attention masks. */
    public static String dataFingerprint(List<Encoding> inputs) {
        MessageDigest md = Sha256.digest();
        ByteBuffer buf = ByteBuffer.allocate(4);
        for (Encoding e : inputs) {
            md.update(buf.clear().putInt(e.length()).array());
            for (int[] a : new int[][]{e.ids(), e.typeIds(), e.attentionMask()}) {
                ByteBuffer b = ByteBuffer.allocate(4 * a.length);
                b.asIntBuffer().put(a);
                md.update(b.array());
            }
        }
        return Sha256.hex(md);
    }

}
