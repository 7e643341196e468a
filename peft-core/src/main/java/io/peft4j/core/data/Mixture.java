package io.peft4j.core.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How often each task is drawn in multi-task training: FLAN's examples-proportional mixing with a cap (Wei et al.
 * 2021, after Raffel et al. 2020's T5, section 3.5.2), optionally temperature-scaled as T5 does. With {@code n_i} the
 * size of task i's training set, K the cap and T the temperature,
 *
 * <pre>
 * r_i = min(n_i, K)            a task counts with at most K examples (FLAN: K = 3,000)
 * w_i = r_i^(1/T) / Σ_j r_j^(1/T)   T = 1: proportional to r_i; T → ∞: uniform
 * </pre>
 *
 * Each draw picks task i with probability {@code w_i}, independently, from a generator seeded by the caller, so
 * a seed gives the same sequence on every run and JVM.
 *
 * <pre>{@code
 * Mixture m = Mixture.of(Map.of("spam", 2567, "sotu", 10196, "name-gender", 5639), 3000, 1.0);
 * m.weight("sotu");                 // 3000 / (2567 + 3000 + 3000) = 0.350
 * int[] tasks = m.sample(800, 42);  // indexes into m.tasks()
 * }</pre>
 */
public final class Mixture {
    /** FLAN's cap: a task counts with at most 3,000 examples. */
    public static final int FLAN_CAP = 3000;

    private final List<String> tasks;
    private final double[] weights;
    private final double[] cumulative;

    private Mixture(List<String> tasks, double[] weights) {
        this.tasks = List.copyOf(tasks);
        this.weights = weights;
        cumulative = new double[weights.length];
        double s = 0;
        for (int i = 0; i < weights.length; i++) cumulative[i] = s += weights[i];
    }

    /**
     * The mixture of tasks of the given training-set sizes (in the map's iteration order), capped at {@code cap}
     * examples and scaled by {@code temperature}. A task of no examples, a cap or temperature that is not positive is an
     * {@link IllegalArgumentException}.
     */
    public static Mixture of(Map<String, Integer> sizes, int cap, double temperature) {
        if (sizes.isEmpty()) throw new IllegalArgumentException("a mixture of no tasks");
        if (cap < 1) throw new IllegalArgumentException("the mixing cap must be positive, not " + cap);
        if (!(temperature > 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("the mixing temperature must be positive and finite, not " + temperature);
        List<String> names = new ArrayList<>(sizes.keySet());
        double[] w = new double[names.size()];
        double total = 0;
        for (int i = 0; i < w.length; i++) {
            int n = sizes.get(names.get(i));
            if (n < 1) throw new IllegalArgumentException("task '" + names.get(i) + "' has no training examples");
            w[i] = Math.pow(Math.min(n, cap), 1.0 / temperature);
            total += w[i];
        }
        for (int i = 0; i < w.length; i++) w[i] /= total;
        return new Mixture(names, w);
    }

    /** The tasks, in the order {@link #sample} indexes them. */
    public List<String> tasks() {
        return tasks;
    }

    /** Task {@code task}'s probability per draw. */
    public double weight(String task) {
        int i = tasks.indexOf(task);
        if (i < 0) throw new IllegalArgumentException("task '" + task + "' is not in the mixture " + tasks);
        return weights[i];
    }

    /** Every task's probability per draw, in {@link #tasks()} order. */
    public Map<String, Double> weights() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < weights.length; i++) m.put(tasks.get(i), weights[i]);
        return Collections.unmodifiableMap(m);
    }

    /** {@code n} independent draws (indexes into {@link #tasks()}) from a generator seeded with {@code seed}. */
    public int[] sample(int n, long seed) {
        if (n < 0) throw new IllegalArgumentException("a negative number of draws: " + n);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            double u = rnd.nextDouble() * cumulative[cumulative.length - 1];
            int i = 0;
            while (i < cumulative.length - 1 && u >= cumulative[i]) i++;
            out[k] = i;
        }
        return out;
    }
}
