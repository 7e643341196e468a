package io.peft4j.probe;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HiddenHook;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Pooled features of every selected layer from one forward pass per batch. An observing {@link HiddenHook} on
 * each layer's {@link SiteKind#LAYER_OUTPUT} site pools the layer's output {@code [B, P + T, D]} at once
 * ({@link Pooling}: CLS is the first real token after any virtual tokens, MEAN averages the real tokens,
 * LAST takes the last real token) into float32 arrays the extractor owns, and returns the output unchanged.
 * Layers are numbered as Hugging Face's {@code hidden_states}: 0 is the embeddings' output
 * ({@code embeddings.output}), {@code i} the output of block {@code i - 1}, and the top layer {@code L} is read
 * at the {@link SiteKind#FINAL_HIDDEN} site, as Hugging Face's {@code hidden_states[L]} is the final hidden
 * state (after GPT-2's final layer norm). Passes run without gradients (an inference context, frozen
 * weights), in batches of similar lengths (sorted by length to reduce padding; the features come back in
 * input order).
 *
 * <pre>{@code
 * var extractor = new FeatureExtractor(bert, FeatureExtractor.allLayers(bert), List.of(Pooling.CLS, Pooling.MEAN), 16);
 * Features f = extractor.extract(FeatureExtractor.encode(tokenizer, texts, null, 128), ProbeListener.NONE);
 * }</pre>
 */
public final class FeatureExtractor {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureExtractor.class);

    private final TransformerModel model;
    private final List<Integer> layers;
    private final List<Pooling> poolings;
    private final int batchSize;

    /**
     * @param model     the frozen model (hooks it already carries stay active)
     * @param layers    hidden-state indices in {@code 0..L}
     * @param poolings  the poolings to compute from each pass (several share one pass)
     * @param batchSize examples per forward pass
     */
    public FeatureExtractor(TransformerModel model, List<Integer> layers, List<Pooling> poolings, int batchSize) {
        int top = model.config().layers();
        if (layers.isEmpty()) throw new PeftException("no layers selected");
        for (int l : layers) {
            if (l < 0 || l > top) throw new PeftException("layer " + l + " does not exist: the model has hidden states 0 (embeddings) to " + top);
        }
        if (layers.stream().distinct().count() != layers.size()) throw new PeftException("layer listed twice: " + layers);
        if (poolings.isEmpty() || poolings.stream().distinct().count() != poolings.size()) throw new PeftException("poolings must be distinct and not empty: " + poolings);
        if (batchSize <= 0) throw new PeftException("batch size " + batchSize + " must be positive");
        this.model = model;
        this.layers = List.copyOf(layers);
        this.poolings = List.copyOf(poolings);
        this.batchSize = batchSize;
    }

    /** Every hidden state of {@code model}: {@code 0..L}. */
    public static List<Integer> allLayers(TransformerModel model) {
        return IntStream.rangeClosed(0, model.config().layers()).boxed().toList();
    }

    /**
     * Encodes texts (and second segments, or null) with the model's special tokens, truncated to
     * {@code maxLength} tokens (the longer segment first); logs how many were truncated. A text that encodes
     * to no token at all is refused, naming its index.
     */
    public static List<Encoding> encode(Tokenizer tokenizer, List<String> texts, List<String> pairs, int maxLength) {
        List<Encoding> out = new ArrayList<>(texts.size());
        int truncated = 0;
        int special1 = tokenizer.specialTokenCount(false), special2 = tokenizer.specialTokenCount(true);
        for (int i = 0; i < texts.size(); i++) {
            String b = pairs == null ? null : pairs.get(i);
            int full = tokenizer.encodeText(texts.get(i)).length + (b == null ? special1 : tokenizer.encodeText(b).length + special2);
            if (full > maxLength) truncated++;
            Encoding e = tokenizer.encode(texts.get(i), b, maxLength);
            if (e.length() == 0) throw new PeftException("example " + i + ": the text encodes to no tokens (empty text?)");
            out.add(e);
        }
        if (truncated > 0) LOG.info("{} of {} examples were longer than {} tokens and were truncated", truncated, texts.size(), maxLength);
        return out;
    }

    /** Features of {@code inputs} (encoded with special tokens, unpadded), in input order. */
    public Features extract(List<Encoding> inputs, ProbeListener listener) {
        if (inputs.isEmpty()) throw new PeftException("no examples to extract features from");
        int n = inputs.size(), d = model.config().hidden();
        for (int i = 0; i < n; i++) {
            if (inputs.get(i).length() == 0) throw new PeftException("example " + i + ": no tokens");
            if (inputs.get(i).length() > model.config().maxPositions()) {
                throw new PeftException("example " + i + ": " + inputs.get(i).length() + " tokens, more than the model's " + model.config().maxPositions() + " positions");
            }
        }
        Features features = new Features(layers, poolings, n, d);
        Capture capture = new Capture(features);
        List<Hooks.Registration> installed = new ArrayList<>();
        try {
            for (int l : layers) installed.add(model.hooks().add(siteOf(l), capture.at(l)));
            Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingInt((Integer i) -> inputs.get(i).length()).reversed());   // stable: ties keep input order
            long t0 = System.nanoTime();
            for (int s = 0; s < n; s += batchSize) {
                int[] rows = new int[Math.min(batchSize, n - s)];
                for (int r = 0; r < rows.length; r++) rows[r] = order[s + r];
                Batch batch = collate(inputs, rows);
                capture.begin(rows, batch);
                Workspaces.run(() -> {
                    model.forward(batch, ForwardContext.inference(rows.length));
                    return new INDArray[0];
                });
                capture.check();
                listener.progress(ProbeListener.Stage.EXTRACT, s + rows.length, n);
            }
            LOG.info("extracted {} layers x {} poolings for {} examples in {} ms", layers.size(), poolings.size(), n, (System.nanoTime() - t0) / 1_000_000);
        } finally {
            installed.forEach(Hooks.Registration::remove);
        }
        return features;
    }

    /** The site whose output is hidden state {@code layer}: a layer-output site, or the final hidden states for the top. */
    private String siteOf(int layer) {
        Hooks hooks = model.hooks();
        if (layer == model.config().layers()) {
            List<HookSite> fin = hooks.sites(SiteKind.FINAL_HIDDEN);
            if (fin.size() != 1) throw new IllegalStateException("the model declares " + fin.size() + " final hidden-state sites");
            return fin.get(0).name();
        }
        return hooks.sites(SiteKind.LAYER_OUTPUT).stream().filter(s -> s.layer() == layer - 1).findFirst()
                .orElseThrow(() -> new IllegalStateException("the model declares no layer-output site for hidden state " + layer)).name();
    }

    /** The rows of {@code inputs} right-padded (id 0, mask 0) to the longest of them. */
    private static Batch collate(List<Encoding> inputs, int[] rows) {
        int t = 0;
        for (int r : rows) t = Math.max(t, inputs.get(r).length());
        int[][] ids = new int[rows.length][t], types = new int[rows.length][t], mask = new int[rows.length][t];
        for (int i = 0; i < rows.length; i++) {
            Encoding e = inputs.get(rows[i]);
            System.arraycopy(e.ids(), 0, ids[i], 0, e.length());
            System.arraycopy(e.typeIds(), 0, types[i], 0, e.length());
            System.arraycopy(e.attentionMask(), 0, mask[i], 0, e.length());
        }
        return new Batch(ids, types, mask);
    }

    /** The hooks' shared state: which examples the running batch holds, and where their features go. */
    private final class Capture {
        final Features features;
        int[] rows;
        int[][] mask;
        int length;
        final boolean[] seen = new boolean[layers.size()];

        Capture(Features features) {
            this.features = features;
        }

        void begin(int[] rows, Batch batch) {
            this.rows = rows;
            this.mask = batch.attentionMask();
            this.length = batch.length();
            Arrays.fill(seen, false);
        }

        /** Every selected layer's hook ran in the pass (a model that skipped a site would leave zeros). */
        void check() {
            for (int i = 0; i < seen.length; i++) {
                if (!seen[i]) throw new IllegalStateException("the pass did not reach the site of hidden state " + layers.get(i));
            }
        }

        HiddenHook at(int layer) {
            int slot = layers.indexOf(layer);
            return (hidden, ctx) -> {
                pool(layer, hidden);
                seen[slot] = true;
                return hidden;
            };
        }

        /** Pools one layer's output into the feature arrays (copies: the tensor's memory belongs to the pass). */
        void pool(int layer, Tensor hidden) {
            int b = rows.length, total = (int) hidden.size(1), virtual = total - length, d = features.dim();
            if (hidden.size(0) != b || virtual < 0 || hidden.size(2) != d) {
                throw new IllegalStateException("hidden state " + layer + " has shape " + Arrays.toString(hidden.shape()) + " for a batch of " + b + " x " + length);
            }
            int[][] full = new int[b][total];
            for (int r = 0; r < b; r++) {
                Arrays.fill(full[r], 0, virtual, 1);
                System.arraycopy(mask[r], 0, full[r], virtual, length);
            }
            ModelOutput out = new ModelOutput(hidden, virtual, full);
            for (Pooling p : features.poolings()) {
                INDArray pooled = p.pool(out).value();
                if (pooled.dataType() != DataType.FLOAT) pooled = pooled.castTo(DataType.FLOAT);
                float[] flat = pooled.dup('c').reshape(-1).toFloatVector();
                float[] dst = features.matrix(layer, p);
                for (int r = 0; r < b; r++) System.arraycopy(flat, r * d, dst, rows[r] * d, d);
            }
        }
    }
}
