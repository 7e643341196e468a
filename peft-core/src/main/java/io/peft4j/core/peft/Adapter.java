package io.peft4j.core.peft;

import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.Hook;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One named instance of a PEFT method installed on a model: its trainable tensors, the hooks it put on
 * the model's hook sites, and its file form. Subclasses (one per method) create their tensors with
 * {@link #moduleParameter} / {@link #parameter} and their hooks with {@link #install}.
 *
 * <p>Which rows an adapter applies to: with no row tags in the {@link ForwardContext}, every row while
 * the adapter is active; with row tags, exactly the rows tagged with its name (so one batch can mix
 * adapters, the base model being any tag no adapter has).
 */
public abstract class Adapter {
    private final String name;
    private final PeftConfig config;
    protected final TransformerModel model;
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Set<String> moduleKeys = new LinkedHashSet<>();
    private final List<Hooks.Registration> registrations = new ArrayList<>();
    private boolean active = true;
    private boolean merged;
    private boolean removed;

    protected Adapter(String name, PeftConfig config, TransformerModel model) {
        if (name == null || !name.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("adapter name '" + name + "' must be letters, digits, '_' or '-'");
        this.name = name;
        this.config = config;
        this.model = model;
    }

    public String name() {
        return name;
    }

    public PeftConfig config() {
        return config;
    }

    public TransformerModel model() {
        return model;
    }

    /** Whether the adapter applies to batches without row tags. */
    public boolean isActive() {
        return active;
    }

    public void setActive(boolean active) {
        this.active = active;
    }

    /** Whether this adapter's change is folded into the base weights ({@link Merging}); it then applies to no rows. */
    public boolean isMerged() {
        return merged;
    }

    void setMerged(boolean merged) {
        this.merged = merged;
    }

    /** The trainable tensors under their state-dict keys (module keys are relative to the base model's module path). */
    public Map<String, Tensor> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /** Trainable elements, each tensor once. */
    public long parameterCount() {
        return params.values().stream().mapToLong(t -> t.value().length()).sum();
    }

    /** Removes the adapter's hooks from the model. */
    public void remove() {
        registrations.forEach(Hooks.Registration::remove);
        registrations.clear();
        removed = true;
    }

    /** Whether {@link #remove} took this adapter's hooks off the model. */
    public boolean isRemoved() {
        return removed;
    }

    /**
     * Whether {@link PeftModel#save} writes this adapter; false for an adapter that is only a way of running other
     * installed adapters (a composition of them), which has no file of its own.
     */
    public boolean hasFileForm() {
        return true;
    }

    /** A trainable tensor saved under {@code base_model.model.<module prefix><key>} (LoRA, IA3, bottleneck weights). */
    protected Tensor moduleParameter(String key, INDArray init) {
        moduleKeys.add(key);
        return parameter(key, init);
    }

    /** A trainable tensor saved under {@code key} as it is ({@code prompt_embeddings}). */
    protected Tensor parameter(String key, INDArray init) {
        Tensor t = Tensor.parameter(init);
        if (params.put(key, t) != null) throw new IllegalStateException("duplicate parameter " + key);
        return t;
    }

    /** Drops every parameter (a method replacing its training-time form with its exported table). */
    protected void clearParameters() {
        params.clear();
        moduleKeys.clear();
    }

    /** A seed for this adapter's parameter {@code index}, mixing in the adapter's name. */
    protected long seed(long seed, int index) {
        return seed * 0x9E3779B97F4A7C15L + name.hashCode() * 31L + index;
    }

    /**
     * Installs {@code hook} on {@code site} owned by this adapter: on a pass with row tags it runs only when one of the
     * rows is tagged with this adapter's name ({@link Hooks#at(String, Class, ForwardContext)}), so it must apply to
     * no other rows, as {@link #rows} selects them.
     */
    protected void install(String site, Hook hook) {
        registrations.add(model.hooks().add(site, hook, name));
    }

    /**
     * Installs {@code hook} on {@code site} with no owner: it runs on every pass, whatever the row tags. For hooks that
     * pick their rows by something other than row tags (an attachment of the pass).
     */
    protected void installUnowned(String site, Hook hook) {
        registrations.add(model.hooks().add(site, hook));
    }

    /** Rows of the current batch this adapter applies to. */
    protected RowSelection rows(ForwardContext ctx) {
        if (merged) return RowSelection.NONE;
        if (ctx.rowTags() == null) return active ? RowSelection.ALL : RowSelection.NONE;
        int[] rows = ctx.rowsTagged(name);
        if (rows.length == 0) return RowSelection.NONE;
        if (rows.length == ctx.batchSize()) return RowSelection.ALL;
        double[] m = new double[ctx.batchSize()];
        for (int r : rows) m[r] = 1;
        return new RowSelection(m);
    }

    /** The rows an adapter applies to: all, none, or a 0/1 weight per row. */
    public record RowSelection(double[] weights) {
        public static final RowSelection ALL = new RowSelection(null);
        public static final RowSelection NONE = new RowSelection(new double[0]);

        public boolean all() {
            return weights == null;
        }

        public boolean none() {
            return weights != null && weights.length == 0;
        }

        /** One flag per row (weight not 0); null when every row is selected. */
        public boolean[] flags() {
            if (weights == null) return null;
            boolean[] f = new boolean[weights.length];
            for (int r = 0; r < f.length; r++) f[r] = weights[r] != 0;
            return f;
        }

        /** The selected rows, ascending; null when every row is selected. */
        public int[] indices() {
            if (weights == null) return null;
            return java.util.stream.IntStream.range(0, weights.length).filter(r -> weights[r] != 0).toArray();
        }

        /**
         * {@code y + term(x)} on the selected rows and {@code y} on the others (x and y share dimension 0, the rows). The term
         * is computed on the selected rows' slices of x only, gathered with {@link Ops#rows} and added back with
         * {@link Ops#addToRows}: an adapter in a mixed batch costs its own rows, not the whole batch's.
         */
        public Tensor addOnRows(Tensor y, Tensor x, java.util.function.UnaryOperator<Tensor> term) {
            if (none()) return y;
            if (all()) return Ops.add(y, term.apply(x));
            int[] rows = indices();
            return Ops.addToRows(y, rows, term.apply(Ops.rows(x, rows)));
        }

        /** The row weights as a constant {@code [B, 1, ..., 1]} of the given rank and type. */
        public Tensor mask(int rank, org.nd4j.linalg.api.buffer.DataType type) {
            long[] shape = new long[rank];
            Arrays.fill(shape, 1);
            shape[0] = weights.length;
            return Tensor.constant(Nd4j.create(weights, shape, 'c').castTo(type));
        }
    }

    // ------------------------------------------------------------------ file form

    /** The tensors written to {@code adapter_model.safetensors}, under the keys Hugging Face PEFT writes. */
    public Map<String, INDArray> stateDict() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (var e : savedParameters().entrySet()) out.put(fileKey(e.getKey()), e.getValue());
        return out;
    }

    /** The tensors to save under state-dict keys; by default every parameter except transient ones. */
    protected Map<String, INDArray> savedParameters() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(e.getKey(), e.getValue().value());
        return out;
    }

    protected String fileKey(String key) {
        return moduleKeys.contains(key) ? "base_model.model." + model.modulePrefix() + key : key;
    }

    /** The state-dict key a file key refers to: the {@code base_model.model.} and model prefixes stripped. */
    protected String stateKey(String fileKey) {
        String k = fileKey.startsWith("base_model.model.") ? fileKey.substring("base_model.model.".length()) : fileKey;
        String prefix = model.modulePrefix();
        if (!prefix.isEmpty() && k.startsWith(prefix)) k = k.substring(prefix.length());
        return k;
    }

    /**
     * Copies {@code tensors} (as read from {@code file}) into this adapter. Every saved tensor must be
     * present with its exact shape and nothing else may be: the error names the first difference.
     */
    public void loadStateDict(Map<String, INDArray> tensors, Path file) {
        Map<String, INDArray> expected = savedParameters();
        Map<String, INDArray> given = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) given.put(stateKey(e.getKey()), e.getValue());
        Set<String> unexpected = new TreeSet<>(given.keySet());
        unexpected.removeAll(expected.keySet());
        if (!unexpected.isEmpty()) {
            throw PeftException.inFile(file, "unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") + preview(unexpected)
                    + " for a " + config.peftType() + " adapter on this " + model.config().modelType() + " base ("
                    + model.config().layers() + " layers, hidden " + model.config().hidden() + "): it was made for another base model or method");
        }
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(given.keySet());
        if (!missing.isEmpty()) throw PeftException.inFile(file, "missing tensor" + (missing.size() > 1 ? "s " : " ") + preview(missing));
        for (var e : expected.entrySet()) {
            INDArray src = given.get(e.getKey());
            if (!Arrays.equals(src.shape(), e.getValue().shape())) {
                throw PeftException.inFile(file, "tensor '" + fileKey(e.getKey()) + "' has shape " + Arrays.toString(src.shape())
                        + " but this base (" + model.config().modelType() + ", hidden " + model.config().hidden() + ") needs "
                        + Arrays.toString(e.getValue().shape()));
            }
        }
        for (var e : expected.entrySet()) load(e.getKey(), given.get(e.getKey()).castTo(e.getValue().dataType()));
    }

    /** Puts a loaded tensor in place; methods whose saved form differs from their trainable form override this. */
    protected void load(String key, INDArray value) {
        params.get(key).value().assign(value);
    }

    private static String preview(Set<String> keys) {
        List<String> l = new ArrayList<>(keys);
        String s = l.subList(0, Math.min(3, l.size())).stream().map(k -> "'" + k + "'").reduce((a, b) -> a + ", " + b).orElse("");
        return l.size() > 3 ? s + " and " + (l.size() - 3) + " more" : s;
    }

    @Override
    public String toString() {
        return config.peftType() + " adapter '" + name + "' (" + parameterCount() + " parameters)";
    }
}
