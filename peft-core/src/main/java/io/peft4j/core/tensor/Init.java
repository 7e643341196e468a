package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

/**
 * Parameter initialisers drawn from a seeded Java generator, so a seed gives the same initial adapter on
 * every backend and every run.
 */
public final class Init {
    private Init() {
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
        return Nd4j.zeros(type, shape);
    }

    public static INDArray ones(DataType type, long... shape) {
        return Nd4j.ones(type, shape);
    }

    private static int length(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("parameter too large to initialise: " + n + " elements");
        return (int) n;
    }
}
