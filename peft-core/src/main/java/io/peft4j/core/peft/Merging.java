package io.peft4j.core.peft;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Folding adapters into the base weights, as Hugging Face PEFT's {@code merge_adapter}, {@code unmerge_adapter} and
 * {@code merge_and_unload} do. The math is each method's ({@link Mergeable}); this class finds the weights and keeps the
 * state: a merged adapter applies to no rows (its hooks stay installed and do nothing), so the model computes the same
 * function before and after a merge, and {@link #unmerge} restores the weights up to rounding.
 *
 * <p>A linear layer at hook site {@code S} is the base parameter {@code S.weight} ({@code [in, out]}) with
 * {@code S.bias} if the model has one, the naming every model in {@code io.peft4j.core.model} follows.
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(Models.load(base, DataType.FLOAT));
 * model.load(adapterDir, "default");
 * Merging.writeMerged(model, base, Path.of("merged"));   // config.json + model.safetensors + the tokenizer files
 * TransformerModel merged = Models.load(Path.of("merged"), DataType.FLOAT);
 * }</pre>
 */
public final class Merging {
    private static final Logger LOG = LoggerFactory.getLogger(Merging.class);

    private Merging() {
    }

    /**
     * Folds adapter {@code name} into the base weights. It must be {@link Mergeable} and not merged already; afterwards
     * it applies to no rows (with or without row tags) until {@link #unmerge}.
     */
    public static void merge(PeftModel model, String name) {
        Adapter a = model.adapter(name);
        Mergeable m = mergeable(a);
        if (a.isMerged()) throw new IllegalStateException("adapter '" + name + "' is merged already");
        requireFullPrecision(model.base());
        m.merge(weights(model.base()));
        a.setMerged(true);
    }

    /** Takes merged adapter {@code name} back out of the base weights; it applies as before the merge again. */
    public static void unmerge(PeftModel model, String name) {
        Adapter a = model.adapter(name);
        Mergeable m = mergeable(a);
        if (!a.isMerged()) throw new IllegalStateException("adapter '" + name + "' is not merged");
        requireFullPrecision(model.base());
        m.unmerge(weights(model.base()));
        a.setMerged(false);
    }

    /**
     * Merges every active adapter that is not merged yet, then removes every adapter from the model and returns the
     * base, whose weights now carry the merged changes (inactive adapters are dropped unmerged, as Hugging Face's
     * {@code merge_and_unload} drops them). Before anything changes, an active adapter that cannot be merged (a prompt,
     * a prefix, a bottleneck adapter) is a {@link PeftException} naming it. A task head is not part of the base and
     * is left on {@code model}.
     */
    public static TransformerModel mergeAndUnload(PeftModel model) {
        List<Adapter> toMerge = new ArrayList<>();
        for (Adapter a : model.adapters()) {
            if (!a.isActive() || a.isMerged()) continue;
            mergeable(a);
            toMerge.add(a);
        }
        for (Adapter a : toMerge) merge(model, a.name());
        for (Adapter a : List.copyOf(model.adapters())) {
            if (!a.isMerged()) LOG.info("dropping inactive adapter '{}' unmerged", a.name());
            model.remove(a.name());
        }
        return model.base();
    }

    /**
     * {@link #mergeAndUnload} and writes the result as a plain Hugging Face checkpoint into {@code out}, replaced whole
     * or not at all: {@code config.json}, {@code model.safetensors} ({@link Models#writeCheckpoint}), and the tokenizer
     * files of {@code tokenizerDir} (the base model's directory; null for none) plus its {@code generation_config.json}.
     */
    public static TransformerModel writeMerged(PeftModel model, Path tokenizerDir, Path out) {
        TransformerModel base = mergeAndUnload(model);
        AtomicFiles.writeDirectory(out, dir -> {
            Models.writeCheckpoint(base, dir);
            if (tokenizerDir != null) {
                Tokenizers.copyFiles(tokenizerDir, dir);
                Path gen = tokenizerDir.resolve("generation_config.json");
                if (Files.isRegularFile(gen)) Files.copy(gen, dir.resolve("generation_config.json"));
            }
        });
        return base;
    }

    /**
     * Refuses a base that keeps weights in 16 bits under wider compute ({@code Precision.storedAs}): a merge would add
     * the adapter's change into BF16/F16 weights (most of it rounded away) and such a model cannot be written as a
     * checkpoint. Checked before any weight changes.
     */
    private static void requireFullPrecision(TransformerModel base) {
        for (var e : base.parameters().entrySet()) {
            DataType t = e.getValue().value().dataType();
            if (t != base.dataType() && (t == DataType.BFLOAT16 || t == DataType.HALF)) {
                throw new PeftException("the base keeps '" + e.getKey() + "' in " + t + " under " + base.dataType() + " compute: merging needs its "
                        + "weights in " + base.dataType() + " (load the model without a 16-bit storage precision)");
            }
        }
    }

    private static Mergeable mergeable(Adapter a) {
        if (a instanceof Mergeable m) return m;
        throw new PeftException("adapter '" + a.name() + "' (" + a.config().peftType() + ") adds positions or modules rather than changing "
                + "linear weights: it cannot be merged into the base model");
    }

    /** The base's linear layers by hook-site name: parameters {@code <site>.weight} and {@code <site>.bias}. */
    static Mergeable.LinearWeights weights(TransformerModel base) {
        return new Mergeable.LinearWeights() {
            @Override
            public INDArray weight(String site) {
                Tensor w = base.parameters().get(site + ".weight");
                if (w == null || w.value().rank() != 2) {
                    throw new PeftException("the " + base.config().modelType() + " base has no linear weight '" + site + ".weight' to merge into");
                }
                return w.value();
            }

            @Override
            public INDArray bias(String site) {
                Tensor b = base.parameters().get(site + ".bias");
                return b == null ? null : b.value();
            }
        };
    }
}
