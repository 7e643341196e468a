package io.peft4j.probe;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Early stopping, reproducibility and the MLP probe; the metrics against hand-computed values. */
class ProbesTest {

    @Test
    void macroF1MatchesHandComputedValues() {
        // scikit-learn's f1_score documentation example: per-class F1 0.8, 0, 0 -> macro 0.2667
        int[] gold = {0, 1, 2, 0, 1, 2}, pred = {0, 2, 1, 0, 0, 1};
        assertThat(Metrics.macroF1(gold, pred, 3)).isCloseTo(0.8 / 3, within(1e-12));
        assertThat(Metrics.accuracy(gold, pred)).isCloseTo(2.0 / 6, within(1e-12));
        // class 2 never occurs in gold nor predictions: left out of the average
        assertThat(Metrics.macroF1(new int[]{0, 1, 1}, new int[]{0, 1, 0}, 3)).isCloseTo((2.0 / 3 + 2.0 / 3) / 2, within(1e-12));
        assertThat(Metrics.majorityBaseline(new int[]{1, 1, 0}, new int[]{1, 0, 0, 0}, 2)).isCloseTo(0.25, within(1e-12));
    }

    /** Many noisy features, few rows: a weakly regularized fit overfits, so the dev loss has an interior minimum. */
    static LabeledFeatures[] overfitting(long seed) {
        Random r = new Random(seed);
        int d = 60, n = 80, nDev = 200;
        double[] w = new double[d];
        for (int j = 0; j < 3; j++) w[j] = 1.5;
        LabeledFeatures[] out = new LabeledFeatures[2];
        for (int s = 0; s < 2; s++) {
            int m = s == 0 ? n : nDev;
            float[] x = new float[m * d];
            int[] y = new int[m];
            for (int i = 0; i < m; i++) {
                double z = 0;
                for (int j = 0; j < d; j++) {
                    x[i * d + j] = (float) r.nextGaussian();
                    z += w[j] * x[i * d + j];
                }
                y[i] = r.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
            }
            out[s] = new LabeledFeatures(x, m, d, y);
        }
        return out;
    }

    @Test
    void earlyStoppingKeepsTheIterationWithTheLowestDevLoss() {
        LabeledFeatures[] data = overfitting(3);
        var cfg = LinearProbe.Config.defaults().withL2(1e-4).withPatience(15);
        LinearProbe stopped = LinearProbe.fit(data[0], data[1], 2, cfg);
        LinearProbe converged = LinearProbe.fit(data[0], null, 2, cfg);
        // the reported stopping loss is the kept parameters' dev loss
        assertThat(stopped.loss(data[1])).isCloseTo(stopped.stoppingLoss(), within(1e-12));
        // it beats both ends of the path: the start (log 2 at zero weights) and the overfitted optimum
        assertThat(stopped.stoppingLoss()).isLessThan(Math.log(2)).isLessThan(converged.loss(data[1]));
        assertThat(stopped.iterations()).isPositive().isLessThan(converged.iterations());
        // every iterate it saw was no better: refitting with fewer iterations than it kept never gives a lower dev loss
        for (int it = 1; it < stopped.iterations(); it++) {
            LinearProbe shorter = LinearProbe.fit(data[0], null, 2, cfg.withMaxIterations(it));
            assertThat(shorter.loss(data[1])).isGreaterThanOrEqualTo(stopped.stoppingLoss());
        }
        // deterministic
        LinearProbe again = LinearProbe.fit(data[0], data[1], 2, cfg);
        assertThat(again.weights(1)).containsExactly(stopped.weights(1));
        assertThat(again.iterations()).isEqualTo(stopped.iterations());
    }

    /** Four Gaussian blobs in an XOR layout: no linear decision function does better than chance. */
    static LabeledFeatures xor(int n, long seed) {
        Random r = new Random(seed);
        int d = 6;
        float[] x = new float[n * d];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            int a = r.nextInt(2), b = r.nextInt(2);
            y[i] = a ^ b;
            x[i * d] = (float) ((a * 2 - 1) * 2 + 0.5 * r.nextGaussian());
            x[i * d + 1] = (float) ((b * 2 - 1) * 2 + 0.5 * r.nextGaussian());
            for (int j = 2; j < d; j++) x[i * d + j] = (float) r.nextGaussian();
        }
        return new LabeledFeatures(x, n, d, y);
    }

    @Test
    void mlpProbeSolvesWhatTheLinearProbeCannotAndIsReproducible() {
        LabeledFeatures train = xor(400, 1), dev = xor(200, 2);
        var cfg = MlpProbe.Config.defaults().withHidden(32).withEpochs(200, 10).withLearningRate(1e-2);
        MlpProbe mlp = MlpProbe.fit(train, dev, 2, cfg);
        LinearProbe lin = LinearProbe.fit(train, dev, 2, LinearProbe.Config.defaults());
        double accMlp = Metrics.accuracy(dev.labels(), mlp.predict(dev.x(), dev.rows()));
        double accLin = Metrics.accuracy(dev.labels(), lin.predict(dev.x(), dev.rows()));
        assertThat(accMlp).isGreaterThan(0.95);
        assertThat(accLin).isLessThan(0.7);
        assertThat(mlp.loss(dev)).isCloseTo(mlp.stoppingLoss(), within(1e-6));
        MlpProbe again = MlpProbe.fit(train, dev, 2, cfg);
        assertThat(again.iterations()).isEqualTo(mlp.iterations());
        double[][] p = mlp.probabilities(dev.x(), dev.rows()), q = again.probabilities(dev.x(), dev.rows());
        for (int i = 0; i < dev.rows(); i++) assertThat(q[i]).containsExactly(p[i]);
        // another seed gives another (still good) fit
        MlpProbe other = MlpProbe.fit(train, dev, 2, cfg.withSeed(7));
        assertThat(other.probabilities(dev.x(), 1)[0][0]).isNotEqualTo(p[0][0]);
    }

    /** The MLP's hand-written backward pass against central finite differences of its loss (dropout off). */
    @Test
    void mlpGradientMatchesFiniteDifferences() {
        int d = 5, h = 7, k = 3;
        MlpProbe.Net net = new MlpProbe.Net(d, h, k, 4);
        Random r = new Random(8);
        float[] z = new float[d];
        for (int j = 0; j < d; j++) z[j] = (float) r.nextGaussian();
        int label = 2;
        MlpProbe.Net g = net.zerosLike();
        float[][] pre = new float[1][h], rows = {z};
        float[] a = pre[0], dh = new float[h], dl = new float[k];
        boolean[] kept = new boolean[h];
        net.hidden(rows, new int[]{0}, 0, 1, pre);
        for (int u = 0; u < h; u++) {
            kept[u] = a[u] > 0;
            if (!kept[u]) a[u] = 0;
        }
        net.output(a, dl);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : dl) max = Math.max(max, v);
        for (float v : dl) sum += Math.exp(v - max);
        for (int c = 0; c < k; c++) dl[c] = (float) (Math.exp(dl[c] - max) / sum - (c == label ? 1 : 0));
        net.backwardHead(a, kept, 1f, dl, dh, g);
        net.backwardInput(z, dh, g);
        float[][] ps = net.arrays(), gs = g.arrays();
        for (int t = 0; t < ps.length; t++) {
            for (int i = 0; i < ps[t].length; i++) {
                float keep = ps[t][i];
                double eps = 1e-2;
                ps[t][i] = (float) (keep + eps);
                double up = net.meanLoss(rows, new int[]{label});
                ps[t][i] = (float) (keep - eps);
                double down = net.meanLoss(rows, new int[]{label});
                ps[t][i] = keep;
                assertThat((double) gs[t][i]).as("array %d element %d", t, i).isCloseTo((up - down) / (2 * eps), within(2e-3));
            }
        }
    }
}
