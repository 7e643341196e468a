package io.peft4j.probe;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The linear probe against independently written reference solvers (Newton's method in plain double math, with
 * their own objective, gradient and Hessian): the regularized optimum is unique, so a correct L-BFGS run must
 * land on it.
 */
class LinearProbeReferenceTest {

    /** Overlapping Gaussian clouds around {@code k} random centres (not separable, so the unregularized part matters). */
    static LabeledFeatures clouds(int n, int d, int k, long seed, double spread) {
        Random r = new Random(seed);
        double[][] centre = new double[k][d];
        for (double[] c : centre) for (int j = 0; j < d; j++) c[j] = r.nextGaussian();
        float[] x = new float[n * d];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % k;
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (centre[y[i]][j] + spread * r.nextGaussian() + 0.5 * j);
        }
        return new LabeledFeatures(x, n, d, y);
    }

    /**
     * Reference: binary logistic regression by Newton's method on
     * {@code (1/N) Σ log(1 + exp(-s_i (β·x_i + β0))) + (μ/2)|β|²}, s_i = ±1, intercept unpenalized.
     * The two-class softmax model with penalty (λ/2)(|w0|² + |w1|²) has w0 = -w1 at its optimum (the class
     * gradients sum to λ(w0 + w1) = 0), so β = w1 - w0 and (λ/2)(|w0|² + |w1|²) = (λ/4)|β|²: μ = λ/2.
     */
    static double[] newtonBinary(double[][] x, int[] y, double mu) {
        int n = x.length, d = x[0].length, p = d + 1;
        double[] beta = new double[p];                       // [β_1..β_d, β0]
        for (int it = 0; it < 100; it++) {
            double[] g = new double[p];
            double[][] h = new double[p][p];
            for (int i = 0; i < n; i++) {
                double[] xi = augmented(x[i]);
                double s = 0;
                for (int j = 0; j < p; j++) s += beta[j] * xi[j];
                double q = 1 / (1 + Math.exp(-s));          // P(y = 1)
                for (int j = 0; j < p; j++) {
                    g[j] += (q - y[i]) * xi[j] / n;
                    for (int k = 0; k < p; k++) h[j][k] += q * (1 - q) * xi[j] * xi[k] / n;
                }
            }
            for (int j = 0; j < d; j++) {
                g[j] += mu * beta[j];
                h[j][j] += mu;
            }
            double[] step = solve(h, g);
            double norm = 0;
            for (int j = 0; j < p; j++) {
                beta[j] -= step[j];
                norm = Math.max(norm, Math.abs(step[j]));
            }
            if (norm < 1e-14) break;
        }
        return beta;
    }

    static double[] augmented(double[] x) {
        double[] a = java.util.Arrays.copyOf(x, x.length + 1);
        a[x.length] = 1;
        return a;
    }

    /** Gaussian elimination with partial pivoting: solves h·s = g. */
    static double[] solve(double[][] h, double[] g) {
        int p = g.length;
        double[][] a = new double[p][p + 1];
        for (int i = 0; i < p; i++) {
            System.arraycopy(h[i], 0, a[i], 0, p);
            a[i][p] = g[i];
        }
        for (int c = 0; c < p; c++) {
            int piv = c;
            for (int r = c + 1; r < p; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
            double[] t = a[c];
            a[c] = a[piv];
            a[piv] = t;
            for (int r = c + 1; r < p; r++) {
                double f = a[r][c] / a[c][c];
                for (int k = c; k <= p; k++) a[r][k] -= f * a[c][k];
            }
        }
        double[] s = new double[p];
        for (int r = p - 1; r >= 0; r--) {
            double v = a[r][p];
            for (int k = r + 1; k < p; k++) v -= a[r][k] * s[k];
            s[r] = v / a[r][r];
        }
        return s;
    }

    static double[][] rows(LabeledFeatures f) {
        double[][] x = new double[f.rows()][f.dim()];
        for (int i = 0; i < f.rows(); i++) for (int j = 0; j < f.dim(); j++) x[i][j] = f.x()[i * f.dim() + j];
        return x;
    }

    @Test
    void twoClassSoftmaxMatchesNewtonLogisticRegression() {
        LabeledFeatures data = clouds(120, 4, 2, 7, 1.3);
        double lambda = 0.05;
        LinearProbe probe = LinearProbe.fit(data, null, 2, LinearProbe.Config.defaults().withL2(lambda).withStandardize(false)
                .withTolerance(1e-11).withMaxIterations(2000));
        double[] beta = newtonBinary(rows(data), data.labels(), lambda / 2);
        double[] w0 = probe.weights(0), w1 = probe.weights(1);
        for (int j = 0; j < 4; j++) {
            assertThat(w1[j] - w0[j]).as("β_%d", j).isCloseTo(beta[j], within(1e-8));
            assertThat(w0[j] + w1[j]).as("w0 + w1 at the optimum").isCloseTo(0, within(1e-8));
        }
        assertThat(probe.bias(1) - probe.bias(0)).isCloseTo(beta[4], within(1e-8));
        // the same probabilities on new points
        LabeledFeatures fresh = clouds(30, 4, 2, 99, 2.0);
        double[][] p = probe.probabilities(fresh.x(), fresh.rows());
        double[][] x = rows(fresh);
        for (int i = 0; i < fresh.rows(); i++) {
            double s = beta[4];
            for (int j = 0; j < 4; j++) s += beta[j] * x[i][j];
            assertThat(p[i][1]).isCloseTo(1 / (1 + Math.exp(-s)), within(1e-9));
            assertThat(p[i][0] + p[i][1]).isCloseTo(1, within(1e-12));
        }
    }

    /**
     * Reference for K classes: Newton's method on the softmax objective with the last class's bias fixed at 0
     * (the probabilities do not change when all biases shift, and the weights are unique under the penalty).
     * Parameters: W row by row (K x d), then b_0..b_{K-2}.
     */
    static double[] newtonSoftmax(double[][] x, int[] y, int k, double lambda) {
        int n = x.length, d = x[0].length, p = k * d + k - 1;
        double[] th = new double[p];
        for (int it = 0; it < 100; it++) {
            double[] g = new double[p];
            double[][] h = new double[p][p];
            for (int i = 0; i < n; i++) {
                double[] q = softmax(th, x[i], k, d);
                for (int a = 0; a < k; a++) {
                    double r = q[a] - (y[i] == a ? 1 : 0);
                    for (int j = 0; j < d; j++) g[a * d + j] += r * x[i][j] / n;
                    if (a < k - 1) g[k * d + a] += r / n;
                    for (int c = 0; c < k; c++) {
                        double w = q[a] * ((a == c ? 1 : 0) - q[c]) / n;
                        for (int j = 0; j < d + 1; j++) {
                            if (j == d && a == k - 1) continue;
                            int ra = j < d ? a * d + j : k * d + a;
                            double xa = j < d ? x[i][j] : 1;
                            for (int l = 0; l < d + 1; l++) {
                                if (l == d && c == k - 1) continue;
                                int rc = l < d ? c * d + l : k * d + c;
                                double xc = l < d ? x[i][l] : 1;
                                h[ra][rc] += w * xa * xc;
                            }
                        }
                    }
                }
            }
            for (int j = 0; j < k * d; j++) {
                g[j] += lambda * th[j];
                h[j][j] += lambda;
            }
            double[] step = solve(h, g);
            double norm = 0;
            for (int j = 0; j < p; j++) {
                th[j] -= step[j];
                norm = Math.max(norm, Math.abs(step[j]));
            }
            if (norm < 1e-14) break;
        }
        return th;
    }

    static double[] softmax(double[] th, double[] x, int k, int d) {
        double[] s = new double[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int a = 0; a < k; a++) {
            s[a] = a < k - 1 ? th[k * d + a] : 0;
            for (int j = 0; j < d; j++) s[a] += th[a * d + j] * x[j];
            max = Math.max(max, s[a]);
        }
        double sum = 0;
        for (int a = 0; a < k; a++) sum += (s[a] = Math.exp(s[a] - max));
        for (int a = 0; a < k; a++) s[a] /= sum;
        return s;
    }

    @Test
    void multiclassOptimumMatchesNewtonAndHasZeroGradient() {
        int k = 3, d = 4;
        LabeledFeatures data = clouds(90, d, k, 11, 1.1);
        double lambda = 0.02;
        LinearProbe probe = LinearProbe.fit(data, null, k, LinearProbe.Config.defaults().withL2(lambda).withStandardize(false)
                .withTolerance(1e-11).withMaxIterations(2000));
        double[][] x = rows(data);
        double[] ref = newtonSoftmax(x, data.labels(), k, lambda);
        for (int a = 0; a < k; a++) {
            double[] w = probe.weights(a);
            for (int j = 0; j < d; j++) assertThat(w[j]).as("W[%d][%d]", a, j).isCloseTo(ref[a * d + j], within(1e-7));
        }
        double[][] p = probe.probabilities(data.x(), data.rows());
        for (int i = 0; i < data.rows(); i++) {
            double[] q = softmax(ref, x[i], k, d);
            for (int a = 0; a < k; a++) assertThat(p[i][a]).isCloseTo(q[a], within(1e-9));
        }
        // the gradient of the regularized objective at the probe's parameters, computed here from its probabilities
        double[][] gw = new double[k][d];
        double[] gb = new double[k];
        for (int i = 0; i < data.rows(); i++) {
            for (int a = 0; a < k; a++) {
                double r = p[i][a] - (data.labels()[i] == a ? 1 : 0);
                for (int j = 0; j < d; j++) gw[a][j] += r * x[i][j] / data.rows();
                gb[a] += r / data.rows();
            }
        }
        for (int a = 0; a < k; a++) {
            double[] w = probe.weights(a);
            for (int j = 0; j < d; j++) assertThat(gw[a][j] + lambda * w[j]).isCloseTo(0, within(1e-9));
            assertThat(gb[a]).isCloseTo(0, within(1e-9));
        }
    }

    /** With standardization the probe is the reference solution on features standardized here (population deviation). */
    @Test
    void standardizedProbeIsTheReferenceOnStandardizedFeatures() {
        LabeledFeatures data = clouds(100, 3, 2, 5, 1.5);
        int n = data.rows(), d = data.dim();
        double[][] x = rows(data);
        double[] mean = new double[d], sd = new double[d];
        for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        for (double[] r : x) for (int j = 0; j < d; j++) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
        for (int j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]);
        double[][] z = new double[n][d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) z[i][j] = (x[i][j] - mean[j]) / sd[j];
        double lambda = 0.1;
        double[] beta = newtonBinary(z, data.labels(), lambda / 2);
        LinearProbe probe = LinearProbe.fit(data, null, 2, LinearProbe.Config.defaults().withL2(lambda).withTolerance(1e-11).withMaxIterations(2000));
        double[][] p = probe.probabilities(data.x(), n);
        for (int i = 0; i < n; i++) {
            double s = beta[d];
            for (int j = 0; j < d; j++) s += beta[j] * z[i][j];
            assertThat(p[i][1]).isCloseTo(1 / (1 + Math.exp(-s)), within(1e-8));
        }
    }
}
