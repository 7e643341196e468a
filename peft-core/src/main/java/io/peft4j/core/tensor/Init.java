package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Parameter initialisers drawn from a seeded Java generator, so a seed gives the same initial adapter on
 * every backend and every run.
 */
public final class Init {
    private Init() {
    }

    /** What {@link #limited} allows on this thread: elements left, and the error when they run out. */
    private record Limit(long[] left, Supplier<? extends RuntimeException> fault) {
    }

    private static final ThreadLocal<Limit> LIMIT = new ThreadLocal<>();

    /**
     * Runs {@code body} allowing the initialisers on this thread at most {@code maxElements} elements in all;
     * the allocation that would pass the limit throws {@code fault}'s exception instead of allocating.
     * Loaders use it to create a module from a config only as large as the file that backs it: an adapter's
     * tensors are allocated from its config before its weights are copied in, so a config field such as
     * {@code r} or {@code num_virtual_tokens} that the weights do not match would otherwise allocate first.
     */
    public static <T> T limited(long maxElements, Supplier<? extends RuntimeException> fault, Supplier<T> body) {
        Limit outer = LIMIT.get();
        LIMIT.set(new Limit(new long[]{maxElements}, fault));
        try {
            return body.get();
        } finally {
            if (outer == null) LIMIT.remove();
            else LIMIT.set(outer);
        }
    }

    /** Normal(0, std²). */
    public static INDArray normal(long seed, double std, DataType type, long... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] d = new double[length(shape)];
        for (int i = 0; i < d.length; i += 2) {
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();   // Box-Muller
            double rad = Math.sqrt(-2 * Math.log(u1));
            d[i] = std * rad * Math.cos(2 * Math.PI * u2);
            if (i + 1 < d.length) d[i + 1] = std * rad * Math.sin(2 * Math.PI * u2);
        }
        return Nd4j.create(d, shape, 'c').castTo(type);
    }

    /** Uniform(-bound, bound). */
    public static INDArray uniform(long seed, double bound, DataType type, long... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] d = new double[length(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (2 * r.nextDouble() - 1) * bound;
        return Nd4j.create(d, shape, 'c').castTo(type);
    }

    /**
     * PyTorch's default {@code nn.Linear} / LoRA-A initialisation, {@code kaiming_uniform_(a=√5)}: uniform
     * with bound {@code 1/√fanIn}.
     */
    public static INDArray kaimingUniform(long seed, long fanIn, DataType type, long... shape) {
        return uniform(seed, 1.0 / Math.sqrt(fanIn), type, shape);
    }

    public static INDArray zeros(DataType type, long... shape) {
        length(shape);
        return Nd4j.zeros(type, shape);
    }

    public static INDArray ones(DataType type, long... shape) {
        length(shape);
        return Nd4j.ones(type, shape);
    }

    /** The element count of {@code shape}, charged against the thread's {@link #limited limit}. */
    private static int length(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in " + java.util.Arrays.toString(shape));
            n = s == 0 || n <= Integer.MAX_VALUE / s ? n * s : Long.MAX_VALUE;
        }
        Limit limit = LIMIT.get();
        if (limit != null) {
            if (n > limit.left()[0]) throw limit.fault().get();
            limit.left()[0] -= n;
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("parameter too large to initialise: " + java.util.Arrays.toString(shape));
        return (int) n;
    }
}
