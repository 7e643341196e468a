package io.peft4j.probe;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.SplittableRandom;

/**
 * A one-hidden-layer MLP probe: {@code p(k | x) = softmax(W2ᵀ dropout(relu(W1ᵀ z + b1)) + b2)_k} on standardized
 * features z, trained with AdamW (PyTorch's: bias-corrected moments, decoupled weight decay on the matrices)
 * on mini-batches of the mean cross-entropy, in float32 plain Java (the layers are small: per-op overhead of
 * a tensor library would cost more than the arithmetic). Early stopping: after every epoch the loss on the
 * early-stopping set is measured (dropout off) and the parameters of the best epoch are kept; training stops
 * after {@code patience} epochs without a new best. Initialization ({@code nn.Linear}'s uniform ±1/√fan-in),
 * shuffling and dropout masks come from the seed, so a fit is reproducible.
 *
 * <pre>{@code
 * MlpProbe p = MlpProbe.fit(train, dev, 2, MlpProbe.Config.defaults().withHidden(128));
 * }</pre>
 */
public final class MlpProbe implements Probe {
    private static final Logger LOG = LoggerFactory.getLogger(MlpProbe.class);

    /**
     * @param hidden       hidden units
     * @param dropout      dropout probability on the hidden layer while training
     * @param learningRate AdamW's learning rate
     * @param weightDecay  AdamW's decoupled weight decay (matrices only)
     * @param batchSize    rows per step
     * @param maxEpochs    epochs at most
     * @param patience     epochs without a lower early-stopping loss before stopping
     * @param seed         initialization, shuffling and dropout
     */
    public record Config(int hidden, double dropout, double learningRate, double weightDecay, int batchSize, int maxEpochs, int patience, long seed) {
        public Config {
            if (hidden <= 0 || batchSize <= 0 || maxEpochs <= 0 || patience <= 0) throw new IllegalArgumentException("sizes and counts must be positive");
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout " + dropout + " outside [0, 1)");
            if (!(learningRate > 0) || !(weightDecay >= 0)) throw new IllegalArgumentException("learning rate must be > 0, weight decay >= 0");
        }

        /** 256 hidden units, dropout 0.1, AdamW at 1e-3 with weight decay 1e-2, batches of 64, at most 100 epochs, patience 5, seed 42. */
        public static Config defaults() {
            return new Config(256, 0.1, 1e-3, 1e-2, 64, 100, 5, 42);
        }

        public Config withHidden(int h) {
            return new Config(h, dropout, learningRate, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        public Config withDropout(double p) {
            return new Config(hidden, p, learningRate, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        public Config withLearningRate(double lr) {
            return new Config(hidden, dropout, lr, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        public Config withEpochs(int max, int patienceEpochs) {
            return new Config(hidden, dropout, learningRate, weightDecay, batchSize, max, patienceEpochs, seed);
        }

        public Config withSeed(long s) {
            return new Config(hidden, dropout, learningRate, weightDecay, batchSize, maxEpochs, patience, s);
        }
    }

    private final Standardizer standardizer;
    private final Net net;
    private final int epochs;
    private final double stoppingLoss;

    private MlpProbe(Standardizer s, Net net, int epochs, double stoppingLoss) {
        this.standardizer = s;
        this.net = net;
        this.epochs = epochs;
        this.stoppingLoss = stoppingLoss;
    }

    /** Fits the probe on {@code train}, early-stopping on {@code stop} (or null: {@code maxEpochs} epochs). */
    public static MlpProbe fit(LabeledFeatures train, LabeledFeatures stop, int classes, Config cfg) {
        if (train.rows() == 0) throw new IllegalArgumentException("no training rows");
        if (stop != null && stop.dim() != train.dim()) throw new IllegalArgumentException("early-stopping rows of width " + stop.dim() + ", training rows of " + train.dim());
        for (int y : train.labels()) if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " outside 0.." + (classes - 1));
        int n = train.rows(), d = train.dim();
        Standardizer s = Standardizer.fit(train);
        float[] z = toFloat(s.apply(train.x(), n, d));
        float[] zStop = stop == null ? null : toFloat(s.apply(stop.x(), stop.rows(), d));
        Net net = new Net(d, cfg.hidden(), classes, cfg.seed());
        Adam adam = new Adam(net, cfg);
        Net best = net.copy();
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch = 0;
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        int[] order = java.util.stream.IntStream.range(0, n).toArray();
        Net grad = net.zerosLike();
        float[] h = new float[cfg.hidden()], dh = new float[cfg.hidden()], logits = new float[classes];
        boolean[] kept = new boolean[cfg.hidden()];
        int epoch = 1;
        for (; epoch <= cfg.maxEpochs(); epoch++) {
            for (int i = n - 1; i > 0; i--) {                      // Fisher-Yates
                int j = rng.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int from = 0; from < n; from += cfg.batchSize()) {
                int to = Math.min(n, from + cfg.batchSize());
                grad.zero();
                float inv = 1f / (to - from);
                for (int b = from; b < to; b++) {
                    int row = order[b];
                    net.hidden(z, row * d, h);
                    for (int u = 0; u < h.length; u++) {
                        kept[u] = h[u] > 0 && (cfg.dropout() == 0 || rng.nextDouble() >= cfg.dropout());
                        h[u] = kept[u] ? (float) (h[u] / (1 - cfg.dropout())) : 0f;
                    }
                    net.output(h, logits);
                    softmaxInPlace(logits);
                    logits[train.labels()[row]] -= 1;                                   // dL/dlogits for this row
                    for (int c = 0; c < classes; c++) logits[c] *= inv;
                    net.backward(z, row * d, h, kept, (float) (1 / (1 - cfg.dropout())), logits, dh, grad);
                }
                adam.step(net, grad);
            }
            if (stop == null) continue;
            double loss = net.meanLoss(zStop, stop.labels(), stop.rows());
            if (loss < bestLoss) {
                bestLoss = loss;
                bestEpoch = epoch;
                best = net.copy();
            } else if (epoch - bestEpoch >= cfg.patience()) {
                break;
            }
        }
        if (stop == null) {
            best = net;
            bestEpoch = cfg.maxEpochs();
            bestLoss = Double.NaN;
        }
        LOG.debug("MLP probe: {} epochs, kept epoch {} (stopping loss {})", Math.min(epoch, cfg.maxEpochs()), bestEpoch, bestLoss);
        return new MlpProbe(s, best, bestEpoch, bestLoss);
    }

    private static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static void softmaxInPlace(float[] v) {
        float max = Float.NEGATIVE_INFINITY;
        for (float x : v) max = Math.max(max, x);
        double sum = 0;
        for (int i = 0; i < v.length; i++) sum += (v[i] = (float) Math.exp(v[i] - max));
        for (int i = 0; i < v.length; i++) v[i] = (float) (v[i] / sum);
    }

    @Override
    public double[][] probabilities(float[] x, int rows) {
        int d = net.d;
        float[] z = toFloat(standardizer.apply(x, rows, d));
        double[][] out = new double[rows][net.k];
        float[] h = new float[net.h], logits = new float[net.k];
        for (int i = 0; i < rows; i++) {
            net.hidden(z, i * d, h);
            for (int u = 0; u < h.length; u++) if (h[u] < 0) h[u] = 0;
            net.output(h, logits);
            softmaxInPlace(logits);
            for (int c = 0; c < net.k; c++) out[i][c] = logits[c];
        }
        return out;
    }

    @Override
    public int iterations() {
        return epochs;
    }

    @Override
    public double stoppingLoss() {
        return stoppingLoss;
    }

    /** The parameters: W1 {@code [d, h]}, b1, W2 {@code [h, k]}, b2, row-major (also used for gradients and moments). */
    static final class Net {
        final int d, h, k;
        final float[] w1, b1, w2, b2;

        Net(int d, int h, int k, float[] w1, float[] b1, float[] w2, float[] b2) {
            this.d = d;
            this.h = h;
            this.k = k;
            this.w1 = w1;
            this.b1 = b1;
            this.w2 = w2;
            this.b2 = b2;
        }

        /** nn.Linear's initialization: uniform ±1/√fan-in for weights and biases. */
        Net(int d, int h, int k, long seed) {
            this(d, h, k, uniform(d * h, d, seed), uniform(h, d, seed + 1), uniform(h * k, h, seed + 2), uniform(k, h, seed + 3));
        }

        private static float[] uniform(int n, int fanIn, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            double bound = 1 / Math.sqrt(fanIn);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) ((2 * r.nextDouble() - 1) * bound);
            return a;
        }

        Net zerosLike() {
            return new Net(d, h, k, new float[w1.length], new float[b1.length], new float[w2.length], new float[b2.length]);
        }

        Net copy() {
            return new Net(d, h, k, w1.clone(), b1.clone(), w2.clone(), b2.clone());
        }

        float[][] arrays() {
            return new float[][]{w1, b1, w2, b2};
        }

        void zero() {
            for (float[] a : arrays()) java.util.Arrays.fill(a, 0f);
        }

        /** Pre-activations {@code W1ᵀ z + b1} of the row at {@code off} into {@code out}. */
        void hidden(float[] z, int off, float[] out) {
            System.arraycopy(b1, 0, out, 0, h);
            for (int j = 0; j < d; j++) {
                float zj = z[off + j];
                if (zj == 0) continue;
                int w = j * h;
                for (int u = 0; u < h; u++) out[u] += zj * w1[w + u];
            }
        }

        /** Logits {@code W2ᵀ a + b2} of hidden activations {@code a} into {@code out}. */
        void output(float[] a, float[] out) {
            System.arraycopy(b2, 0, out, 0, k);
            for (int u = 0; u < h; u++) {
                float au = a[u];
                if (au == 0) continue;
                for (int c = 0; c < k; c++) out[c] += au * w2[u * k + c];
            }
        }

        /** Accumulates one row's gradients into {@code g}, given dL/dlogits {@code dl}, the hidden activations and their dropout/ReLU mask. */
        void backward(float[] z, int off, float[] a, boolean[] kept, float dropScale, float[] dl, float[] dh, Net g) {
            for (int c = 0; c < k; c++) g.b2[c] += dl[c];
            for (int u = 0; u < h; u++) {
                float s = 0;
                for (int c = 0; c < k; c++) {
                    g.w2[u * k + c] += a[u] * dl[c];
                    s += w2[u * k + c] * dl[c];
                }
                dh[u] = kept[u] ? s * dropScale : 0f;
                g.b1[u] += dh[u];
            }
            for (int j = 0; j < d; j++) {
                float zj = z[off + j];
                if (zj == 0) continue;
                int w = j * h;
                for (int u = 0; u < h; u++) g.w1[w + u] += zj * dh[u];
            }
        }

        double meanLoss(float[] z, int[] labels, int rows) {
            float[] a = new float[h], logits = new float[k];
            double s = 0;
            for (int i = 0; i < rows; i++) {
                hidden(z, i * d, a);
                for (int u = 0; u < h; u++) if (a[u] < 0) a[u] = 0;
                output(a, logits);
                softmaxInPlace(logits);
                s -= Math.log(Math.max(logits[labels[i]], 1e-30));
            }
            return s / rows;
        }
    }

    /** AdamW as PyTorch defines it (β = 0.9, 0.999, ε = 1e-8), weight decay on the two matrices. */
    private static final class Adam {
        final Net m, v;
        final double lr, wd;
        long t;

        Adam(Net net, Config cfg) {
            m = net.zerosLike();
            v = net.zerosLike();
            lr = cfg.learningRate();
            wd = cfg.weightDecay();
        }

        void step(Net p, Net g) {
            t++;
            double c1 = 1 - Math.pow(0.9, t), c2 = 1 - Math.pow(0.999, t);
            float[][] ps = p.arrays(), gs = g.arrays(), ms = m.arrays(), vs = v.arrays();
            for (int a = 0; a < ps.length; a++) {
                float[] w = ps[a], gr = gs[a], mm = ms[a], vv = vs[a];
                float decay = (float) (a % 2 == 0 ? 1 - lr * wd : 1), step = (float) (lr / c1), bias2 = (float) (1 / c2);
                for (int i = 0; i < w.length; i++) {
                    mm[i] = 0.9f * mm[i] + 0.1f * gr[i];
                    vv[i] = 0.999f * vv[i] + 0.001f * gr[i] * gr[i];
                    w[i] = w[i] * decay - step * mm[i] / ((float) Math.sqrt(vv[i] * bias2) + 1e-8f);
                }
            }
        }
    }
}
