package io.peft4j.probe;

import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.train.AdamW;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A one-hidden-layer MLP probe: {@code p(k | x) = softmax(W2 dropout(relu(W1 z + b1)) + b2)_k} on standardized
 * features z, trained with AdamW on mini-batches of the mean cross-entropy (float32). Early stopping: after
 * every epoch the loss on the early-stopping set is measured (dropout off) and the parameters of the best
 * epoch are kept; training stops after {@code patience} epochs without a new best. Initialization, shuffling
 * and dropout masks come from the seed, so a fit is reproducible.
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
    private final int dim, classes;
    private final INDArray w1, b1, w2, b2;
    private final int epochs;
    private final double stoppingLoss;

    private MlpProbe(Standardizer s, int dim, int classes, INDArray[] p, int epochs, double stoppingLoss) {
        this.standardizer = s;
        this.dim = dim;
        this.classes = classes;
        this.w1 = p[0];
        this.b1 = p[1];
        this.w2 = p[2];
        this.b2 = p[3];
        this.epochs = epochs;
        this.stoppingLoss = stoppingLoss;
    }

    /** Fits the probe on {@code train}, early-stopping on {@code stop} (or null: {@code maxEpochs} epochs). */
    public static MlpProbe fit(LabeledFeatures train, LabeledFeatures stop, int classes, Config cfg) {
        if (train.rows() == 0) throw new IllegalArgumentException("no training rows");
        int n = train.rows(), d = train.dim(), h = cfg.hidden();
        for (int y : train.labels()) if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " outside 0.." + (classes - 1));
        Standardizer s = Standardizer.fit(train);
        INDArray z = matrix(s.apply(train.x(), n, d), n, d);
        INDArray zStop = stop == null ? null : matrix(s.apply(stop.x(), stop.rows(), d), stop.rows(), d);
        Map<String, Tensor> params = new LinkedHashMap<>();
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            params.put("w1", Tensor.parameter(Init.kaimingUniform(cfg.seed(), d, DataType.FLOAT, d, h)));
            params.put("b1", Tensor.parameter(Init.uniform(cfg.seed() + 1, 1.0 / Math.sqrt(d), DataType.FLOAT, h)));
            params.put("w2", Tensor.parameter(Init.kaimingUniform(cfg.seed() + 2, h, DataType.FLOAT, h, classes)));
            params.put("b2", Tensor.parameter(Init.uniform(cfg.seed() + 3, 1.0 / Math.sqrt(h), DataType.FLOAT, classes)));
        }
        AdamW opt = new AdamW(0.9, 0.999, 1e-8, cfg.weightDecay());
        opt.reserve(params);
        INDArray[] best = snapshot(params);
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch = 0;
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        int[] order = java.util.stream.IntStream.range(0, n).toArray();
        long step = 0;
        for (int epoch = 1; epoch <= cfg.maxEpochs(); epoch++) {
            for (int i = n - 1; i > 0; i--) {                      // Fisher-Yates
                int j = rng.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int from = 0; from < n; from += cfg.batchSize()) {
                int[] rows = java.util.Arrays.copyOfRange(order, from, Math.min(n, from + cfg.batchSize()));
                int[] y = new int[rows.length];
                for (int i = 0; i < rows.length; i++) y[i] = train.labels()[rows[i]];
                long dropSeed = cfg.seed() * 1_000_003L + step++;
                params.values().forEach(Tensor::zeroGrad);
                Workspaces.run(() -> {
                    Tensor x = Tensor.constant(z.getRows(rows));
                    Tensor hid = Ops.dropout(Ops.relu(Ops.linear(x, params.get("w1"), params.get("b1"))), cfg.dropout(), dropSeed);
                    Tensor loss = Ops.crossEntropy(Ops.linear(hid, params.get("w2"), params.get("b2")), y, -1);
                    loss.backward();
                    return new INDArray[0];
                });
                opt.step(params, cfg.learningRate());
            }
            params.values().forEach(Tensor::zeroGrad);
            if (stop == null) continue;
            double loss = meanLoss(zStop, stop.labels(), params);
            if (loss < bestLoss) {
                bestLoss = loss;
                bestEpoch = epoch;
                best = snapshot(params);
            } else if (epoch - bestEpoch >= cfg.patience()) {
                break;
            }
        }
        if (stop == null) {
            best = snapshot(params);
            bestEpoch = cfg.maxEpochs();
            bestLoss = Double.NaN;
        }
        LOG.debug("MLP probe: kept epoch {} (stopping loss {})", bestEpoch, bestLoss);
        return new MlpProbe(s, d, classes, best, bestEpoch, bestLoss);
    }

    private static INDArray matrix(double[] z, int rows, int d) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.create(z, new long[]{rows, d}, 'c').castTo(DataType.FLOAT);
        }
    }

    private static INDArray[] snapshot(Map<String, Tensor> params) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return params.values().stream().map(t -> t.value().dup()).toArray(INDArray[]::new);
        }
    }

    private static double meanLoss(INDArray z, int[] labels, Map<String, Tensor> params) {
        double[][] p = probabilities(z, params.get("w1").value(), params.get("b1").value(), params.get("w2").value(), params.get("b2").value()).toDoubleMatrix();
        double s = 0;
        for (int i = 0; i < labels.length; i++) s -= Math.log(Math.max(p[i][labels[i]], 1e-300));
        return s / labels.length;
    }

    /** Softmax of the MLP's logits (no dropout), in double outside any workspace. */
    private static INDArray probabilities(INDArray z, INDArray w1, INDArray b1, INDArray w2, INDArray b2) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray hid = z.castTo(DataType.DOUBLE).mmul(w1.castTo(DataType.DOUBLE)).addiRowVector(b1.castTo(DataType.DOUBLE));
            org.nd4j.linalg.ops.transforms.Transforms.relu(hid, false);
            INDArray logits = hid.mmul(w2.castTo(DataType.DOUBLE)).addiRowVector(b2.castTo(DataType.DOUBLE));
            INDArray max = logits.max(true, 1);
            INDArray e = org.nd4j.linalg.ops.transforms.Transforms.exp(logits.subColumnVector(max), false);
            return e.diviColumnVector(e.sum(true, 1));
        }
    }

    @Override
    public double[][] probabilities(float[] x, int rows) {
        INDArray p = probabilities(matrix(standardizer.apply(x, rows, dim), rows, dim), w1, b1, w2, b2);
        return p.toDoubleMatrix();
    }

    @Override
    public int iterations() {
        return epochs;
    }

    @Override
    public double stoppingLoss() {
        return stoppingLoss;
    }
}
