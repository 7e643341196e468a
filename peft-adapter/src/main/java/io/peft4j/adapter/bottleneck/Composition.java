package io.peft4j.adapter.bottleneck;

import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How several installed bottleneck adapters run together at each sublayer site, as the AdapterHub {@code adapters}
 * library's composition blocks. With {@code f_i(x, h) = h + A_i(u_i)} adapter i's replacement for a sublayer's
 * output h (x the sublayer's input, u_i what adapter i reads: Houlsby h, Pfeiffer {@code LN(x + h)}, parallel x):
 * <ul>
 *   <li>{@link Stack}: {@code h' = f_n(x, ... f_2(x, f_1(x, h)))}: each adapter reads the previous one's output.</li>
 *   <li>{@link Average}: {@code h' = Σ w_i·f_i(x, h)} with weights summing to 1: each adapter reads the same input.</li>
 * </ul>
 * At a site where an adapter has no layer (a Pfeiffer adapter at the attention output, a layer it leaves out) it is the
 * identity there, {@code f_i(x, h) = h}.
 *
 * <p>A composition is installed under a name of its own ({@link #add}), like an adapter with no parameters of its own:
 * it applies to the rows tagged with its name, so one batch can mix rows for compositions, for single adapters and for
 * the base, and to batches without row tags while it is active ({@link #activate} makes it the only active adapter, so
 * that its members do not also apply on their own). Its members' parameters stay theirs (training through a
 * composition trains them); it is not saved (save the members; declare the composition again after loading them).
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT));
 * model.add("lang", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
 * model.add("task", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
 * Composition.activate(model, "madx", new Composition.Stack(List.of("lang", "task")));     // untagged batches: lang, then task
 * Composition.add(model, "ensemble", new Composition.Average(List.of("lang", "task"), List.of(1.0, 3.0)));
 * ForwardContext rows = new ForwardContext(2, List.of("madx", "ensemble"), false, 0);     // one row each
 * }</pre>
 */
public sealed interface Composition permits Composition.Stack, Composition.Average {
    /** The bottleneck adapters composed, by name, in order. */
    List<String> adapters();

    /**
     * AdapterHub's {@code Stack(a, b, ...)}: at each site the output of adapter a is the input of adapter b. Parallel
     * adapters read the sublayer's input rather than the previous output, so they cannot be stacked (AdapterHub's Stack
     * would keep the last one's output only).
     */
    record Stack(List<String> adapters) implements Composition {
        public Stack {
            adapters = names(adapters);
        }

        public static Stack of(String... adapters) {
            return new Stack(List.of(adapters));
        }
    }

    /**
     * AdapterHub's {@code Average(a, b, ..., weights=[...])}: every adapter runs on the same input and their outputs are
     * averaged with {@code weights}, which are normalised to sum to 1 (AdapterHub's default {@code normalize_weights});
     * null weights mean equal ones. The record holds the normalised weights.
     */
    record Average(List<String> adapters, List<Double> weights) implements Composition {
        public Average {
            adapters = names(adapters);
            if (weights == null) weights = Collections.nCopies(adapters.size(), 1.0);
            if (weights.size() != adapters.size()) {
                throw new IllegalArgumentException(weights.size() + " weights for " + adapters.size() + " adapters " + adapters);
            }
            double sum = 0;
            for (Double w : weights) {
                if (w == null || !Double.isFinite(w)) throw new IllegalArgumentException("weight " + w + " in " + weights + " is not a finite number");
                sum += w;
            }
            if (sum == 0) throw new IllegalArgumentException("weights " + weights + " sum to 0: they cannot be normalised");
            List<Double> normalised = new ArrayList<>(weights.size());
            for (Double w : weights) normalised.add(w / sum);
            weights = List.copyOf(normalised);
        }

        /** Equal weights. */
        public static Average of(String... adapters) {
            return new Average(List.of(adapters), null);
        }
    }

    /**
     * Installs {@code composition} on {@code model} under {@code name}, inactive: it applies to the rows tagged
     * {@code name}, and to batches without row tags once made active ({@link #activate}, {@link PeftModel#setActive}).
     * Returns it.
     *
     * @throws IllegalArgumentException naming the problem: an unknown adapter, one that is not a bottleneck adapter, a
     *                                  parallel adapter in a {@link Stack}, a name already installed
     */
    static Adapter add(PeftModel model, String name, Composition composition) {
        Adapter a = model.add(new ComposedAdapter(model, name, composition));
        a.setActive(false);
        return a;
    }

    /** {@link #add}, then makes the composition the only adapter active for batches without row tags. */
    static Adapter activate(PeftModel model, String name, Composition composition) {
        Adapter a = add(model, name, composition);
        model.setActive(name);
        return a;
    }

    private static List<String> names(List<String> adapters) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("a composition needs at least one adapter");
        return List.copyOf(adapters);
    }
}
