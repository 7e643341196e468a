package io.peft4j.core.train;

import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class AdamWTest {
    private static final double LR = 0.01, BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, DECAY = 0.1;

    /**
     * Several AdamW steps on a matrix (decayed; 75,000 elements, enough for the float kernel to split over the
     * cores) and a vector (not decayed), in float (the fused kernel) and in double (ND4J's ops), against the
     * update written out element by element in double as PyTorch defines it.
     */
    @Test
    void stepsMatchTheDefinitionInFloatAndDouble() {
        for (DataType type : new DataType[]{DataType.FLOAT, DataType.DOUBLE}) {
            Random rnd = new Random(5);
            double[][] w0 = {gaussian(rnd, 300 * 250), gaussian(rnd, 250)};
            long[][] shapes = {{300, 250}, {250}};
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (int i = 0; i < 2; i++) params.put("p" + i, Tensor.parameter(Nd4j.create(w0[i], shapes[i], 'c').castTo(type)));
            double[][] w = {w0[0].clone(), w0[1].clone()}, m = new double[2][], v = new double[2][];
            for (int i = 0; i < 2; i++) {
                m[i] = new double[w[i].length];
                v[i] = new double[w[i].length];
            }
            AdamW opt = new AdamW(BETA1, BETA2, EPS, DECAY);
            opt.reserve(params);
            for (int step = 1; step <= 5; step++) {
                double[][] g = {gaussian(rnd, w[0].length), gaussian(rnd, w[1].length)};
                g[1][3] = 0;                                        // a zero gradient: only ε keeps the division finite
                Tensor loss = null;
                for (int i = 0; i < 2; i++) {
                    // d/dp Σ p ⊙ G = G
                    Tensor term = Ops.sum(Ops.mul(params.get("p" + i), Tensor.constant(Nd4j.create(g[i], shapes[i], 'c').castTo(type))));
                    loss = loss == null ? term : Ops.add(loss, term);
                }
                loss.backward();
                opt.step(params, LR);
                params.values().forEach(Tensor::zeroGrad);
                double c1 = 1 - Math.pow(BETA1, step), c2 = 1 - Math.pow(BETA2, step);
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < w[i].length; j++) {
                        if (i == 0) w[i][j] *= 1 - LR * DECAY;          // matrices only
                        m[i][j] = BETA1 * m[i][j] + (1 - BETA1) * g[i][j];
                        v[i][j] = BETA2 * v[i][j] + (1 - BETA2) * g[i][j] * g[i][j];
                        w[i][j] -= LR * (m[i][j] / c1) / (Math.sqrt(v[i][j] / c2) + EPS);
                    }
                }
            }
            double tolerance = type == DataType.FLOAT ? 3e-6 : 1e-12;
            for (int i = 0; i < 2; i++) {
                double[] got = params.get("p" + i).value().castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
                double worst = 0;
                for (int j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - w[i][j]));
                assertThat(worst).as("%s parameter %d", type, i).isLessThan(tolerance);
                // the update moved the parameter by far more than the tolerance
                assertThat(Math.abs(got[5] - w0[i][5])).isGreaterThan(1e-3);
            }
        }
    }

    private static double[] gaussian(Random rnd, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextGaussian();
        return x;
    }
}
