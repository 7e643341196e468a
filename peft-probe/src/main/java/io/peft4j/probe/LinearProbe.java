package io.peft4j.probe;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Multinomial logistic (softmax) regression with an L2 penalty on the weights, the linear probe:
 * <pre>
 *   p(k | x) = softmax(W z + b)_k,   z = (x - μ) / σ  (per feature, μ and σ from the training rows)
 *   minimize  (1/N) Σ_i -log p(y_i | x_i) + (λ/2) ||W||²     (b is not penalized)
 * </pre>
 * by full-batch L-BFGS from zero, which is deterministic. With an early-stopping set the run keeps the
 * parameters of the iteration with the lowest loss on that set and stops after {@code patience} iterations
 * without a new lowest; without one it runs to convergence (max |∇| ≤ {@code tolerance}), where the
 * minimizer is unique in W and in the probabilities.
 *
 * <pre>{@code
 * LinearProbe p = LinearProbe.fit(train, dev, 2, LinearProbe.Config.defaults().withL2(1e-2));
 * double[][] probs = p.probabilities(dev.x(), dev.rows());
 * }</pre>
 */
public final class LinearProbe implements Probe {
    private static final Logger LOG = LoggerFactory.getLogger(LinearProbe.class);

    /**
     * @param l2            λ, the L2 strength on the (mean-loss) objective
     * @param maxIterations L-BFGS iterations at most
     * @param patience      iterations without a lower early-stopping loss before stopping
     * @param tolerance     convergence: the largest gradient component
     * @param standardize   standardize features with the training rows' mean and deviation
     */
    public record Config(double l2, int maxIterations, int patience, double tolerance, boolean standardize) {
        public Config {
            if (!(l2 >= 0)) throw new IllegalArgumentException("l2 " + l2 + " must be >= 0");
            if (maxIterations <= 0 || patience <= 0) throw new IllegalArgumentException("iterations and patience must be positive");
            if (!(tolerance > 0)) throw new IllegalArgumentException("tolerance " + tolerance + " must be > 0");
        }

        /** λ = 1e-2 on standardized features, at most 500 iterations, patience 20, tolerance 1e-6. */
        public static Config defaults() {
            return new Config(1e-2, 500, 20, 1e-6, true);
        }

        /** This config with L2 strength {@code l2}. */
        public Config withL2(double l2) {
            return new Config(l2, maxIterations, patience, tolerance, standardize);
        }

        /** This config with at most {@code n} iterations. */
        public Config withMaxIterations(int n) {
            return new Config(l2, n, patience, tolerance, standardize);
        }

        /** This config stopping after {@code n} iterations without a lower early-stopping loss. */
        public Config withPatience(int n) {
            return new Config(l2, maxIterations, n, tolerance, standardize);
        }

        /** This config converging when every gradient component is at most {@code t}. */
        public Config withTolerance(double t) {
            return new Config(l2, maxIterations, patience, t, standardize);
        }

        /** This config with standardization on or off. */
        public Config withStandardize(boolean s) {
            return new Config(l2, maxIterations, patience, tolerance, s);
        }
    }

    private final Standardizer standardizer;
    private final int classes, dim;
    private final double[] theta;          // W row by row (class k: [k·dim, (k+1)·dim)), then b
    private final int iterations;
    private final double stoppingLoss, l2;

    private LinearProbe(Standardizer s, int classes, int dim, double[] theta, int iterations, double stoppingLoss, double l2) {
        this.l2 = l2;
        this.standardizer = s;
        this.classes = classes;
        this.dim = dim;
        this.theta = theta;
        this.iterations = iterations;
        this.stoppingLoss = stoppingLoss;
    }

    /**
     * Fits the probe on {@code train}, early-stopping on {@code stop} (or null: run to convergence).
     *
     * @param classes number of classes; labels lie in {@code 0..classes-1}
     */
    public static LinearProbe fit(LabeledFeatures train, LabeledFeatures stop, int classes, Config cfg) {
        if (train.rows() == 0) throw new IllegalArgumentException("no training rows");
        if (stop != null && stop.dim() != train.dim()) throw new IllegalArgumentException("early-stopping rows of width " + stop.dim() + ", training rows of " + train.dim());
        int d = train.dim();
        checkLabels(train.labels(), classes);
        Standardizer s = cfg.standardize() ? Standardizer.fit(train) : Standardizer.identity(d);
        Softmax objective = new Softmax(s.apply(train.x(), train.rows(), d), train.labels(), train.rows(), d, classes, cfg.l2());
        double[] x0 = new double[classes * (d + 1)];
        if (stop == null) {
            Lbfgs.Result r = Lbfgs.minimize(objective, x0, 10, cfg.maxIterations(), cfg.tolerance(), null);
            if (!r.converged()) LOG.debug("linear probe stopped after {} iterations with max |gradient| {}", r.iterations(), r.gradNorm());
            return new LinearProbe(s, classes, d, r.x(), r.iterations(), Double.NaN, cfg.l2());
        }
        checkLabels(stop.labels(), classes);
        Softmax stopLoss = new Softmax(s.apply(stop.x(), stop.rows(), d), stop.labels(), stop.rows(), d, classes, 0);
        double[] best = x0.clone();
        double[] bestLoss = {stopLoss.evaluate(x0, null)};
        int[] bestIt = {0};
        Lbfgs.Result r = Lbfgs.minimize(objective, x0, 10, cfg.maxIterations(), cfg.tolerance(), (it, x, f) -> {
            double l = stopLoss.evaluate(x, null);
            if (l < bestLoss[0]) {
                bestLoss[0] = l;
                bestIt[0] = it;
                System.arraycopy(x, 0, best, 0, x.length);
            }
            return it - bestIt[0] >= cfg.patience();
        });
        LOG.debug("linear probe: {} iterations, kept iteration {} (stopping loss {})", r.iterations(), bestIt[0], bestLoss[0]);
        return new LinearProbe(s, classes, d, best, bestIt[0], bestLoss[0], cfg.l2());
    }

    private static void checkLabels(int[] labels, int classes) {
        for (int y : labels) if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " outside 0.." + (classes - 1));
    }

    @Override
    public double[][] probabilities(float[] x, int rows) {
        double[] z = standardizer.apply(x, rows, dim);
        double[][] out = new double[rows][classes];
        double[] row = new double[dim];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(z, i * dim, row, 0, dim);
            Softmax.probabilities(theta, row, dim, classes, out[i]);
        }
        return out;
    }

    @Override
    public int iterations() {
        return iterations;
    }

    @Override
    public double stoppingLoss() {
        return stoppingLoss;
    }

    /** The L2 strength λ it was fitted with. */
    public double l2() {
        return l2;
    }

    /** Number of classes. */
    public int classes() {
        return classes;
    }

    /** The weights of class {@code k} on the (standardized, if configured) features: a copy. */
    public double[] weights(int k) {
        return java.util.Arrays.copyOfRange(theta, k * dim, (k + 1) * dim);
    }

    /** The bias of class {@code k}. */
    public double bias(int k) {
        return theta[classes * dim + k];
    }

    /** The regularized objective and its gradient over the parameter vector [W row by row, b]. */
    static final class Softmax implements Lbfgs.Objective {
        final double[] z;
        final int[] y;
        final int n, d, k;
        final double l2;

        Softmax(double[] z, int[] y, int n, int d, int k, double l2) {
            this.z = z;
            this.y = y;
            this.n = n;
            this.d = d;
            this.k = k;
            this.l2 = l2;
        }

        /** f(θ), and ∇f(θ) into {@code grad} unless it is null. */
        @Override
        public double evaluate(double[] theta, double[] grad) {
            if (grad != null) java.util.Arrays.fill(grad, 0);
            double[] row = new double[d], p = new double[k];
            double loss = 0;
            for (int i = 0; i < n; i++) {
                System.arraycopy(z, i * d, row, 0, d);
                double lse = logits(theta, row, d, k, p);
                loss += lse - p[y[i]];
                if (grad == null) continue;
                for (int c = 0; c < k; c++) {
                    double r = Math.exp(p[c] - lse) - (c == y[i] ? 1 : 0);
                    if (r == 0) continue;
                    int off = c * d;
                    for (int j = 0; j < d; j++) grad[off + j] += r * row[j];
                    grad[k * d + c] += r;
                }
            }
            loss /= n;
            double reg = 0;
            for (int j = 0; j < k * d; j++) reg += theta[j] * theta[j];
            if (grad != null) {
                for (int j = 0; j < grad.length; j++) grad[j] /= n;
                for (int j = 0; j < k * d; j++) grad[j] += l2 * theta[j];
            }
            return loss + 0.5 * l2 * reg;
        }

        /** Writes the logits of one row into {@code out} and returns their log-sum-exp. */
        static double logits(double[] theta, double[] row, int d, int k, double[] out) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double s = theta[k * d + c];
                int off = c * d;
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int j = 0;
                for (; j + 3 < d; j += 4) {
                    s0 += theta[off + j] * row[j];
                    s1 += theta[off + j + 1] * row[j + 1];
                    s2 += theta[off + j + 2] * row[j + 2];
                    s3 += theta[off + j + 3] * row[j + 3];
                }
                for (; j < d; j++) s0 += theta[off + j] * row[j];
                out[c] = s + (s0 + s1) + (s2 + s3);
                max = Math.max(max, out[c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) sum += Math.exp(out[c] - max);
            return max + Math.log(sum);
        }

        static void probabilities(double[] theta, double[] row, int d, int k, double[] out) {
            double lse = logits(theta, row, d, k, out);
            for (int c = 0; c < k; c++) out[c] = Math.exp(out[c] - lse);
        }
    }
}
