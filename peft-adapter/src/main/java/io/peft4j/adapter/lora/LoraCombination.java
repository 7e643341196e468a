package io.peft4j.adapter.lora;

import io.peft4j.adapter.lora.LoraMethod.LoraAdapter;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.TargetModules;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * A new LoRA adapter made from installed ones, as Hugging Face PEFT's
 * {@code LoraModel.add_weighted_adapter(adapters, weights, adapter_name, combination_type, svd_rank)}. With
 * {@code s_i} adapter i's scaling ({@code alpha/r}, or {@code alpha/√r} with rsLoRA), {@code c_i = w_i·s_i}, and
 * {@code A_i [r_i, in]}, {@code B_i [out, r_i]} as Hugging Face stores them, at every target module:
 * <ul>
 *   <li>{@link CombinationType#CAT}: {@code A = [c_1·A_1; c_2·A_2; ...]} (rows stacked), {@code B = [B_1, B_2, ...]}
 *       (columns side by side), rank {@code Σ r_i}: exactly {@code B·A = Σ c_i·B_i·A_i}.</li>
 *   <li>{@link CombinationType#LINEAR}: {@code A = Σ sign(c_i)·√|c_i|·A_i}, {@code B = Σ √|c_i|·B_i}; every adapter must
 *       have the same rank, which the new one keeps. For one adapter this is {@code c_1·B_1·A_1}; for several, B·A
 *       also holds the cross terms {@code B_i·A_j}, as in Hugging Face PEFT.</li>
 *   <li>{@link CombinationType#SVD}: the truncated SVD of {@code ΔW = Σ c_i·B_i·A_i} at rank k ({@code svdRank}, by
 *       default the largest {@code r_i}): {@code B = U_k·diag(S_k)}, {@code A = V_kᵀ}, the best rank-k approximation of
 *       ΔW (Eckart-Young).</li>
 * </ul>
 * The new adapter has {@code r} as above and {@code lora_alpha = r} (scaling 1, without rsLoRA), the union of the
 * sources' target modules, and the first source's dropout, layers and task type; an adapter missing from a module
 * leaves that module's combination to the others. It is installed and active like any added adapter (call
 * {@link PeftModel#setActive} to use it alone) and saves as an ordinary Hugging Face PEFT LoRA adapter.
 *
 * <p>Where this differs from Hugging Face PEFT: an existing name is an error (HF returns silently); the sources must
 * share {@code layers_to_transform} (HF keeps the first one's and drops the other adapters' modules outside them);
 * SVD factors {@code Σ w_i·s_i·B_i·A_i} (HF's code multiplies {@code get_delta_weight}, which already holds
 * {@code s_i}, by {@code w_i·s_i} again, so for {@code s_i ≠ 1} it factors {@code Σ w_i·s_i²·B_i·A_i}); SVD's
 * {@code svd_clamp} and the TIES / DARE / magnitude-prune types are not offered.
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT));
 * model.load(dir.resolve("math"), "math");
 * model.load(dir.resolve("code"), "code");
 * Adapter both = LoraCombination.addWeighted(model, List.of("math", "code"), List.of(0.7, 0.3), "both",
 *         LoraCombination.CombinationType.CAT, null);
 * model.setActive("both");
 * model.save(out);     // writes "both" (and the others) as Hugging Face PEFT LoRA adapters
 * }</pre>
 */
public final class LoraCombination {
    /** How the sources' A and B form the new adapter's (Hugging Face PEFT's {@code combination_type}). */
    public enum CombinationType {
        /** Weighted sums of the A's and of the B's; the sources share one rank. */
        LINEAR,
        /** A's and B's concatenated: the exact weighted sum of the sources' changes, rank the sum of theirs. */
        CAT,
        /** The weighted sum of the sources' changes, truncated to a given rank by SVD. */
        SVD
    }

    private LoraCombination() {
    }

    /**
     * Installs on {@code model}, under {@code newName}, the LoRA adapter that combines the installed LoRA adapters
     * {@code names} with {@code weights} by {@code type}; returns it.
     *
     * @param weights one per adapter, any sign (a negative weight subtracts the adapter's change)
     * @param svdRank the new rank for {@link CombinationType#SVD} (null: the sources' largest rank); ignored by the others
     * @throws IllegalArgumentException naming the problem: no adapters, a weight count that differs, an unknown or
     *                                  non-LoRA adapter, different ranks for {@code LINEAR}, different
     *                                  {@code layers_to_transform}, an SVD rank outside {@code 1..min(in, out)}, a
     *                                  name already installed
     */
    public static Adapter addWeighted(PeftModel model, List<String> names, List<Double> weights, String newName, CombinationType type,
                                      Integer svdRank) {
        Objects.requireNonNull(type, "combination type");
        if (names == null || names.isEmpty()) throw new IllegalArgumentException("no adapters to combine");
        if (weights == null || weights.size() != names.size()) {
            throw new IllegalArgumentException((weights == null ? 0 : weights.size()) + " weights for " + names.size() + " adapters " + names);
        }
        List<LoraAdapter> sources = new ArrayList<>();
        for (String n : names) {
            Adapter a = model.adapter(n);
            if (!(a instanceof LoraAdapter l)) {
                throw new IllegalArgumentException("adapter '" + n + "' (" + a.config().peftType() + ") is not a LoRA adapter: only LoRA adapters combine");
            }
            sources.add(l);
        }
        if (sources.size() == 1) type = CombinationType.LINEAR;     // as Hugging Face PEFT: one adapter is reweighted linearly
        LoraConfig first = config(sources.get(0));
        for (LoraAdapter a : sources) {
            if (!Objects.equals(config(a).layersToTransform(), first.layersToTransform())) {
                throw new IllegalArgumentException("adapters '" + sources.get(0).name() + "' and '" + a.name() + "' differ in layers_to_transform ("
                        + first.layersToTransform() + " vs " + config(a).layersToTransform() + "): the combination takes the first one's layers, "
                        + "so the others' modules outside them would be lost");
            }
        }
        int rank = newRank(sources, type, svdRank);
        LinkedHashSet<String> targets = new LinkedHashSet<>();
        for (LoraAdapter a : sources) targets.addAll(config(a).targetsFor(model.base().architecture()));
        LoraConfig cfg = new LoraConfig(rank, rank, first.dropout(), List.copyOf(targets), first.layersToTransform(), false, first.taskType());
        if (type == CombinationType.SVD) {
            for (var s : TargetModules.select(model.base(), cfg.targetModules(), cfg.layersToTransform())) {
                if (rank > Math.min(s.in(), s.out())) {
                    throw new IllegalArgumentException("svd rank " + rank + " exceeds the " + s.out() + " x " + s.in() + " weight of '" + s.name()
                            + "': at most " + Math.min(s.in(), s.out()));
                }
            }
        }
        Adapter combined = model.add(newName, cfg);
        try {
            for (String site : ((LoraAdapter) combined).targets()) {
                INDArray[] ab = combine(site, sources, weights, type, rank);
                INDArray a = combined.parameters().get(site + ".lora_A.weight").value(), b = combined.parameters().get(site + ".lora_B.weight").value();
                a.assign(ab[0].castTo(a.dataType()));
                b.assign(ab[1].castTo(b.dataType()));
            }
        } catch (RuntimeException e) {
            model.remove(newName);
            throw e;
        }
        return combined;
    }

    private static LoraConfig config(LoraAdapter a) {
        return (LoraConfig) a.config();
    }

    private static int newRank(List<LoraAdapter> sources, CombinationType type, Integer svdRank) {
        List<Integer> ranks = sources.stream().map(a -> config(a).r()).toList();
        return switch (type) {
            case LINEAR -> {
                for (int i = 1; i < sources.size(); i++) {
                    if (!ranks.get(i).equals(ranks.get(0))) {
                        throw new IllegalArgumentException("LINEAR combination needs adapters of one rank: '" + sources.get(0).name() + "' has r "
                                + ranks.get(0) + ", '" + sources.get(i).name() + "' r " + ranks.get(i) + " (CAT and SVD take different ranks)");
                    }
                }
                yield ranks.get(0);
            }
            case CAT -> ranks.stream().mapToInt(Integer::intValue).sum();
            case SVD -> {
                if (svdRank != null && svdRank <= 0) throw new IllegalArgumentException("svd rank must be positive, not " + svdRank);
                yield svdRank != null ? svdRank : ranks.stream().mapToInt(Integer::intValue).max().orElseThrow();
            }
        };
    }

    /** The new {@code {A [rank, in], B [out, rank]}} at {@code site}, computed in double precision. */
    private static INDArray[] combine(String site, List<LoraAdapter> sources, List<Double> weights, CombinationType type, int rank) {
        List<INDArray> as = new ArrayList<>(), bs = new ArrayList<>();
        List<Double> c = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            LoraAdapter a = sources.get(i);
            if (!a.targets().contains(site)) continue;
            as.add(a.parameters().get(site + ".lora_A.weight").value().castTo(DataType.DOUBLE));
            bs.add(a.parameters().get(site + ".lora_B.weight").value().castTo(DataType.DOUBLE));
            c.add(weights.get(i) * config(a).scaling());
        }
        if (as.isEmpty()) throw new IllegalStateException("no source adapter is installed on '" + site + "'");
        long in = as.get(0).size(1), out = bs.get(0).size(0);
        INDArray newA = Nd4j.zeros(DataType.DOUBLE, rank, in), newB = Nd4j.zeros(DataType.DOUBLE, out, rank);
        switch (type) {
            case CAT -> {
                long row = 0;
                for (int i = 0; i < as.size(); i++) {
                    long r = as.get(i).size(0);
                    newA.get(NDArrayIndex.interval(row, row + r), NDArrayIndex.all()).assign(as.get(i).mul(c.get(i)));
                    newB.get(NDArrayIndex.all(), NDArrayIndex.interval(row, row + r)).assign(bs.get(i));
                    row += r;
                }
            }
            case LINEAR -> {
                for (int i = 0; i < as.size(); i++) {
                    double root = Math.sqrt(Math.abs(c.get(i)));
                    newA.addi(as.get(i).mul(c.get(i) >= 0 ? root : -root));     // the sign on A only, so that it is not squared away
                    newB.addi(bs.get(i).mul(root));
                }
            }
            case SVD -> {
                INDArray delta = Nd4j.zeros(DataType.DOUBLE, out, in);
                for (int i = 0; i < as.size(); i++) delta.addi(bs.get(i).mmul(as.get(i)).muli(c.get(i)));
                INDArray[] usv = svd(delta);
                INDArray u = usv[0].get(NDArrayIndex.all(), NDArrayIndex.interval(0, rank));
                INDArray s = usv[1].get(NDArrayIndex.interval(0, rank));
                newB.assign(u.mulRowVector(s));
                newA.assign(usv[2].get(NDArrayIndex.interval(0, rank), NDArrayIndex.all()));
            }
        }
        return new INDArray[]{newA, newB};
    }

    /** {@code {U [m, m], S [min(m, n)] descending, Vᵀ [n, n]}} of {@code m [m, n]} (LAPACK's gesvd; m is left as it was). */
    private static INDArray[] svd(INDArray m) {
        long rows = m.size(0), cols = m.size(1);
        INDArray work = m.dup('f');
        INDArray s = Nd4j.create(DataType.DOUBLE, Math.min(rows, cols));
        INDArray u = Nd4j.create(DataType.DOUBLE, new long[]{rows, rows}, 'f');
        INDArray vt = Nd4j.create(DataType.DOUBLE, new long[]{cols, cols}, 'f');
        Nd4j.getBlasWrapper().lapack().gesvd(work, s, u, vt);
        return new INDArray[]{u, s, vt};
    }
}
