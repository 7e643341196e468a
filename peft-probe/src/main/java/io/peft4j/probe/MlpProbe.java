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

        /** This config with {@code h} hidden units. */
        public Config withHidden(int h) {
            return new Config(h, dropout, learningRate, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        /** This config with dropout probability {@code p}. */
        public Config withDropout(double p) {
            return new Config(hidden, p, learningRate, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        /** This config with learning rate {@code lr}. */
        public Config withLearningRate(double lr) {
            return new Config(hidden, dropout, lr, weightDecay, batchSize, maxEpochs, patience, seed);
        }

        /** This config with at most {@code max} epochs, stopping after {@code patienceEpochs} without a lower early-stopping loss. */
        public Config withEpochs(int max, int patienceEpochs) {
            return new Config(hidden, dropout, learningRate, weightDecay, batchSize, max, patienceEpochs, seed);
        }

        /** This config with seed {@code s}. */
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
        float[][] z = rows(s.apply(train.x(), n, d), n, d);
        float[][] zStop = stop == null ? null : rows(s.apply(stop.x(), stop.rows(), d), stop.rows(), d);
        Net net = new Net(d, cfg.hidden(), classes, cfg.seed());
        Adam adam = new Adam(net, cfg);
        Net best = net.copy();
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch = 0;
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        int[] order = java.util.stream.IntStream.range(0, n).toArray();
        Net grad = net.zerosLike();
        int h = cfg.hidden();
        float[][] pre = new float[cfg.batchSize()][h];
        float[] a = new float[h], dh = new float[h], logits = new float[classes];
        boolean[] kept = new boolean[h];
        float dropScale = (float) (1 / (1 - cfg.dropout()));
        int epoch = 1;
        for (; epoch <= cfg.maxEpochs(); epoch++) {
            for (int i = n - 1; i > 0; i--) {                      // Fisher-Yates
                int j = rng.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int from = 0; from < n; from += cfg.batchSize()) {
                int count = Math.min(n, from + cfg.batchSize()) - from;
                grad.zero();
                float inv = 1f / count;
                net.hidden(z, order, from, count, pre);
                for (int b = 0; b < count; b++) {
                    for (int u = 0; u < h; u++) {
                        float x = pre[b][u];
                        kept[u] = x > 0 && (cfg.dropout() == 0 || rng.nextDouble() >= cfg.dropout());
                        a[u] = kept[u] ? x * dropScale : 0f;
                    }
                    net.output(a, logits);
                    softmaxInPlace(logits);
                    logits[train.labels()[order[from + b]]] -= 1;                 // dL/dlogits for this row
                    for (int c = 0; c < classes; c++) logits[c] *= inv;
                    net.backwardHead(a, kept, dropScale, logits, dh, grad);
                    net.backwardInput(z[order[from + b]], dh, grad);
                }
                adam.step(net, grad);
            }
            if (stop == null) continue;
            double loss = net.meanLoss(zStop, stop.labels());
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

    /** {@code [rows, d]} row-major doubles as float rows. */
    private static float[][] rows(double[] a, int rows, int d) {
        float[][] f = new float[rows][d];
        for (int i = 0; i < rows; i++) for (int j = 0; j < d; j++) f[i][j] = (float) a[i * d + j];
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
        return net.probabilities(rows(standardizer.apply(x, rows, net.d), rows, net.d));
    }

    @Override
    public int iterations() {
        return epochs;
    }

    @Override
    public double stoppingLoss() {
        return stoppingLoss;
    }

    /**
     * The parameters: W1 {@code [d][h]} (one array per input feature), b1, W2 {@code [h, k]} row-major, b2; the same
     * layout holds gradients and moments. The inner loops run over whole rows at offset 0, which the JIT vectorizes
     * (loops over two arrays at two different offsets ran about 5x slower on JDK 17).
     */
    static final class Net {
        final int d, h, k;
        final float[][] w1;
        final float[] b1, w2, b2;

        Net(int d, int h, int k, float[][] w1, float[] b1, float[] w2, float[] b2) {
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
            this(d, h, k, rows(uniform(d * h, d, seed), d, h), uniform(h, d, seed + 1), uniform(h * k, h, seed + 2), uniform(k, h, seed + 3));
        }

        private static float[] uniform(int n, int fanIn, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            double bound = 1 / Math.sqrt(fanIn);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) ((2 * r.nextDouble() - 1) * bound);
            return a;
        }

        private static float[][] rows(float[] flat, int r, int c) {
            float[][] out = new float[r][];
            for (int i = 0; i < r; i++) out[i] = java.util.Arrays.copyOfRange(flat, i * c, (i + 1) * c);
            return out;
        }

        Net zerosLike() {
            return new Net(d, h, k, new float[d][h], new float[h], new float[h * k], new float[k]);
        }

        Net copy() {
            float[][] w = new float[d][];
            for (int j = 0; j < d; j++) w[j] = w1[j].clone();
            return new Net(d, h, k, w, b1.clone(), w2.clone(), b2.clone());
        }

        /** Every parameter array (W1's rows, b1, W2, b2), and whether weight decay applies to it. */
        float[][] arrays() {
            float[][] a = new float[d + 3][];
            System.arraycopy(w1, 0, a, 0, d);
            a[d] = b1;
            a[d + 1] = w2;
            a[d + 2] = b2;
            return a;
        }

        boolean decayed(int array) {
            return array < d || array == d + 1;
        }

        void zero() {
            for (float[] a : arrays()) java.util.Arrays.fill(a, 0f);
        }

        private static void axpy(float s, float[] x, float[] y) {
            for (int i = 0; i < y.length; i++) y[i] += s * x[i];
        }

        /** Pre-activations {@code W1ᵀ z + b1} of each row {@code z[rows[from + b]]} into {@code out[b]}, for b < count. */
        void hidden(float[][] z, int[] rows, int from, int count, float[][] out) {
            for (int b = 0; b < count; b++) {
                float[] o = out[b], zr = z[rows[from + b]];
                System.arraycopy(b1, 0, o, 0, h);
                for (int j = 0; j < d; j++) if (zr[j] != 0) axpy(zr[j], w1[j], o);
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

        /**
         * One row's gradients of b2, W2 and b1 into {@code g}, given dL/dlogits {@code dl} and the row's hidden activations
         * {@code a} with their ReLU/dropout mask; writes dL/d(pre-activation) into {@code dh}.
         */
        void backwardHead(float[] a, boolean[] kept, float dropScale, float[] dl, float[] dh, Net g) {
            for (int c = 0; c < k; c++) g.b2[c] += dl[c];
            for (int u = 0; u < h; u++) {
                float s = 0;
                for (int c = 0; c < k; c++) {
                    g.w2[u * k + c] += a[u] * dl[c];
                    s += w2[u * k + c] * dl[c];
                }
                float v = kept[u] ? s * dropScale : 0f;
                dh[u] = v;
                g.b1[u] += v;
            }
        }

        /** Adds one row's W1 gradient {@code z ⊗ dh} into {@code g}. */
        void backwardInput(float[] zr, float[] dh, Net g) {
            for (int j = 0; j < d; j++) if (zr[j] != 0) axpy(zr[j], dh, g.w1[j]);
        }

        /** Class probabilities of the rows of {@code z} (no dropout). */
        double[][] probabilities(float[][] z) {
            double[][] out = new double[z.length][k];
            float[][] pre = new float[1][h];
            float[] logits = new float[k];
            int[] row = new int[1];
            for (int i = 0; i < z.length; i++) {
                row[0] = i;
                hidden(z, row, 0, 1, pre);
                for (int u = 0; u < h; u++) pre[0][u] = Math.max(pre[0][u], 0f);
                output(pre[0], logits);
                softmaxInPlace(logits);
                for (int c = 0; c < k; c++) out[i][c] = logits[c];
            }
            return out;
        }

        double meanLoss(float[][] z, int[] labels) {
            double[][] p = probabilities(z);
            double s = 0;
            for (int i = 0; i < z.length; i++) s -= Math.log(Math.max(p[i][labels[i]], 1e-30));
            return s / z.length;
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
                float decay = (float) (p.decayed(a) ? 1 - lr * wd : 1), step = (float) (lr / c1), bias2 = (float) (1 / c2);
                for (int i = 0; i < w.length; i++) {
                    mm[i] = 0.9f * mm[i] + 0.1f * gr[i];
                    vv[i] = 0.999f * vv[i] + 0.001f * gr[i] * gr[i];
                    w[i] = w[i] * decay - step * mm[i] / ((float) Math.sqrt(vv[i] * bias2) + 1e-8f);
                }
            }
        }
    }
}
