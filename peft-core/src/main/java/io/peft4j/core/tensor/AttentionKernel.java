package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * Multi-head attention straight on the projections' memory: q {@code [B, Tq, H·dh]}, k and v {@code [B, Tk, H·dh]}
 * with the heads side by side in the last dimension. Each head's products are cblas calls on its columns (rows
 * {@code H·dh} apart), so no head is copied out and the output is written in place into {@code [B, Tq, H·dh]};
 * the 1/√dh scale rides on the products' alpha. The probabilities {@code P [B·H, Tq, Tk]} are the only array
 * the pass adds. Used where {@link BatchedGemm#available} holds; {@link Ops#attention} composes ND4J ops
 * elsewhere.
 *
 * <pre>
 * forward:   S = α·Q Kᵀ + bias,  P = softmax(S),  O = P V
 * backward:  dP = dO Vᵀ,  dV = Pᵀ dO,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = α·dS K,  dK = α·dSᵀ Q
 * </pre>
 */
final class AttentionKernel {
    private AttentionKernel() {
    }

    /** The shapes of one call: batch, heads, query and key lengths, model and head widths. */
    record Dims(int batch, int heads, int tq, int tk, int d) {
        int dh() {
            return d / heads;
        }

        /** Where head h of batch row r starts in a {@code [B, T, d]} array, for every (r, h). */
        long[] headOffsets(int t) {
            long[] o = new long[batch * heads];
            for (int r = 0; r < batch; r++) for (int h = 0; h < heads; h++) o[r * heads + h] = (long) r * t * d + (long) h * dh();
            return o;
        }

        /** Where each (r, h) score matrix starts in {@code [B·H, Tq, Tk]}. */
        long[] scoreOffsets() {
            return BatchedGemm.offsets(batch * heads, (long) tq * tk);
        }
    }

    /** The scores {@code S = α·Q Kᵀ} into {@code p [B·H, Tq, Tk]}. */
    static void scores(INDArray q, INDArray k, Dims s, double alpha, INDArray p) {
        BatchedGemm.strided(false, true, s.tq(), s.tk(), s.dh(), alpha, q, s.headOffsets(s.tq()), s.d(),
                k, s.headOffsets(s.tk()), s.d(), p, s.scoreOffsets(), s.tk());
    }

    /** Scores to probabilities in place: {@code P = softmax(S + bias)}. */
    static void softmax(INDArray p, INDArray bias, Dims s) {
        if (bias != null) addBias(p, bias, s);
        Nd4j.exec((CustomOp) new SoftMax(p, p, -1));
    }

    /** {@code O = P V} into {@code out [B, Tq, d]}. */
    static void output(INDArray p, INDArray v, Dims s, INDArray out) {
        BatchedGemm.strided(false, false, s.tq(), s.dh(), s.tk(), 1.0, p, s.scoreOffsets(), s.tk(),
                v, s.headOffsets(s.tk()), s.d(), out, s.headOffsets(s.tq()), s.d());
    }

    /** {@code dP = dO Vᵀ}, a new {@code [B·H, Tq, Tk]} array. */
    static INDArray probabilityGrad(INDArray dOut, INDArray v, Dims s) {
        INDArray dp = Nd4j.createUninitialized(dOut.dataType(), new long[]{(long) s.batch() * s.heads(), s.tq(), s.tk()}, 'c');
        BatchedGemm.strided(false, true, s.tq(), s.tk(), s.dh(), 1.0, dOut, s.headOffsets(s.tq()), s.d(),
                v, s.headOffsets(s.tk()), s.d(), dp, s.scoreOffsets(), s.tk());
        return dp;
    }

    /** {@code dV = Pᵀ dO}, a new {@code [B, Tk, d]} array. */
    static INDArray valueGrad(INDArray p, INDArray dOut, Dims s) {
        INDArray dv = Nd4j.createUninitialized(dOut.dataType(), new long[]{s.batch(), s.tk(), s.d()}, 'c');
        BatchedGemm.strided(true, false, s.tk(), s.dh(), s.tq(), 1.0, p, s.scoreOffsets(), s.tk(),
                dOut, s.headOffsets(s.tq()), s.d(), dv, s.headOffsets(s.tk()), s.d());
        return dv;
    }

    /** {@code dQ = α·dS K}, a new {@code [B, Tq, d]} array. */
    static INDArray queryGrad(INDArray ds, INDArray k, Dims s, double alpha) {
        INDArray dq = Nd4j.createUninitialized(ds.dataType(), new long[]{s.batch(), s.tq(), s.d()}, 'c');
        BatchedGemm.strided(false, false, s.tq(), s.dh(), s.tk(), alpha, ds, s.scoreOffsets(), s.tk(),
                k, s.headOffsets(s.tk()), s.d(), dq, s.headOffsets(s.tq()), s.d());
        return dq;
    }

    /** {@code dK = α·dSᵀ Q}, a new {@code [B, Tk, d]} array. */
    static INDArray keyGrad(INDArray ds, INDArray q, Dims s, double alpha) {
        INDArray dk = Nd4j.createUninitialized(ds.dataType(), new long[]{s.batch(), s.tk(), s.d()}, 'c');
        BatchedGemm.strided(true, false, s.tk(), s.dh(), s.tq(), alpha, ds, s.scoreOffsets(), s.tk(),
                q, s.headOffsets(s.tq()), s.d(), dk, s.headOffsets(s.tk()), s.d());
        return dk;
    }

    /**
     * Adds {@code bias [B or 1, 1, Tq or 1, Tk]} to every head's scores: per batch row, one broadcast add of
     * the row's {@code Tq·Tk} (or {@code Tk}) values over the heads.
     */
    private static void addBias(INDArray p, INDArray bias, Dims s) {
        long rows = bias.size(0), width = bias.length() / rows;
        INDArray per = p.reshape('c', s.batch(), p.length() / (s.batch() * width), width);
        INDArray b2 = bias.reshape('c', rows, width);
        for (int r = 0; r < s.batch(); r++) per.slice(r).addiRowVector(b2.getRow(rows == 1 ? 0 : r));
    }

    /**
     * The softmax backward {@code dS = P ⊙ (dP − rowsum(dP ⊙ P))}: in place into {@code dp} for floats (one pass
     * per row, rows split over the cores), a new array from ND4J ops otherwise.
     */
    static INDArray softmaxGrad(INDArray p, INDArray dp) {
        if (!FloatKernels.applies(p, dp)) return NormOps.softmaxBackward(p, dp);
        int n = (int) p.size(p.rank() - 1), rows = (int) (p.length() / n);
        FloatBuffer pb = FloatKernels.buf(p), gb = FloatKernels.buf(dp);
        int po = FloatKernels.off(p), go = FloatKernels.off(dp);
        FloatKernels.split(rows, 256, (from, to) -> {
            float[] pr = new float[n], gr = new float[n];
            for (int r = from; r < to; r++) {
                pb.get(po + r * n, pr, 0, n);
                gb.get(go + r * n, gr, 0, n);
                float dot = 0f;
                for (int j = 0; j < n; j++) dot += gr[j] * pr[j];
                for (int j = 0; j < n; j++) gr[j] = pr[j] * (gr[j] - dot);
                gb.put(go + r * n, gr, 0, n);
            }
        });
        return dp;
    }
}
