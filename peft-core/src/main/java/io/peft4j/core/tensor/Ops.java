package io.peft4j.core.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The differentiable ops peft4j's models and methods are written in. Each op computes its value with ND4J
 * and, only when an input needs a gradient, records a backward closure that keeps just what that
 * backward needs (a frozen weight's input activation is never kept).
 *
 * <p>Shapes follow PyTorch conventions; linear weights are stored {@code [in, out]} so that
 * {@code y = x·W + b} is one GEMM on the flattened {@code [rows, in]} input.
 *
 * <p>This class is the public face of the ops; each family's math and backward live in a package-level class:
 * {@link ElementwiseOps}, {@link MatrixOps}, {@link ShapeOps}, {@link ActivationOps}, {@link NormOps} and
 * {@link LossOps}, with the helpers they share (un-broadcasting a gradient among them) in {@link OpSupport}.
 */
public final class Ops {
    private Ops() {
    }

    // ---------------------------------------------------------------- elementwise and broadcasting

    /** {@code a + b} with NumPy broadcasting. */
    public static Tensor add(Tensor a, Tensor b) {
        return ElementwiseOps.add(a, b);
    }

    /** {@code a - b} with NumPy broadcasting. */
    public static Tensor sub(Tensor a, Tensor b) {
        return ElementwiseOps.sub(a, b);
    }

    /** {@code a * b} elementwise with NumPy broadcasting. */
    public static Tensor mul(Tensor a, Tensor b) {
        return ElementwiseOps.mul(a, b);
    }

    /** {@code s * a}. */
    public static Tensor scale(Tensor a, double s) {
        return ElementwiseOps.scale(a, s);
    }

    /** {@code x} broadcast (NumPy rules) to {@code shape}, as a contiguous copy; backward sums back. */
    public static Tensor broadcastTo(Tensor x, long... shape) {
        return ElementwiseOps.broadcastTo(x, shape);
    }

    // ---------------------------------------------------------------- matrix products

    /**
     * Matrix product of rank-2 or batched rank-3 operands, {@code op(a)·op(b)} where op transposes the last
     * two dimensions when asked.
     */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return MatrixOps.matmul(a, b, transA, transB);
    }

    /**
     * A linear layer {@code y = x·W + b} over the last dimension: x {@code [..., in]}, W {@code [in, out]},
     * b {@code [out]} or null. When W is frozen, backward computes dX = dY·Wᵀ only and does not keep x.
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor b) {
        return MatrixOps.linear(x, w, b, false);
    }

    /**
     * A linear layer whose weight is in PyTorch's {@code [out, in]} orientation (adapter and prompt-encoder
     * weights as their files store them): {@code y = x·Wᵀ + b}, one GEMM and an in-place bias add.
     */
    public static Tensor linearT(Tensor x, Tensor w, Tensor b) {
        return MatrixOps.linear(x, w, b, true);
    }

    /**
     * Multi-head scaled dot-product attention, {@code softmax(Q_h·K_hᵀ/√dh + bias)·V_h} for every head h.
     * {@code q [B, Tq, H·dh]}, {@code k} and {@code v [B, Tk, H·dh]} hold the heads side by side in the last
     * dimension, as the projections make them; the result has q's shape, heads merged the same way.
     * {@code bias} is additive ({@code [B or 1, 1, Tq or 1, Tk]}, a large negative value where a key is
     * masked), shared by the heads, or null.
     *
     * <p>On the CPU backend (float or double) every head's products run on the arrays' memory, with no head
     * split or merge copies ({@link AttentionKernel}); elsewhere the same computation is composed of the ops
     * of this class. The backward keeps q, k, v (what it needs of them) and the probabilities.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, int heads, INDArray bias) {
        return MatrixOps.attention(q, k, v, heads, bias);
    }

    /** {@link #attention} composed of the other ops: heads split, batched products, softmax, heads merged. */
    static Tensor attentionComposed(Tensor q, Tensor k, Tensor v, int heads, INDArray bias, double alpha) {
        return MatrixOps.attentionComposed(q, k, v, heads, bias, alpha);
    }

    // ---------------------------------------------------------------- shape ops

    public static Tensor reshape(Tensor x, long... shape) {
        return ShapeOps.reshape(x, shape);
    }

    /** Permutes dimensions and returns a contiguous copy. */
    public static Tensor permute(Tensor x, int... dims) {
        return ShapeOps.permute(x, dims);
    }

    /** The slice {@code [start, start+length)} along {@code dim}, as a contiguous copy. */
    public static Tensor narrow(Tensor x, int dim, long start, long length) {
        return ShapeOps.narrow(x, dim, start, length);
    }

    /** Concatenates along {@code dim}. */
    public static Tensor concat(int dim, Tensor... ts) {
        return ShapeOps.concat(dim, ts);
    }

    /**
     * The sub-tensors {@code x[rows[0]], x[rows[1]], ...} along dimension 0, as a contiguous copy {@code [rows.length, ...]};
     * backward adds each row's gradient back into its place (an index given twice gets both).
     */
    public static Tensor rows(Tensor x, int[] rows) {
        return ShapeOps.rows(x, rows);
    }

    /**
     * {@code y} with {@code d[i]} added to {@code y[rows[i]]} along dimension 0 (d {@code [rows.length, ...]}, each row the
     * shape of one of y's): the scatter-add that undoes {@link #rows}, for computing a term on some rows of a batch only.
     */
    public static Tensor addToRows(Tensor y, int[] rows, Tensor d) {
        return ShapeOps.addToRows(y, rows, d);
    }

    // ---------------------------------------------------------------- activations

    /** GELU's two forms: {@code ERF}, the exact one (BERT's), and {@code TANH}, the tanh approximation (GPT-2's {@code gelu_new}). */
    public enum Gelu {
        ERF, TANH;

        /**
         * The form a Hugging Face activation name ({@code hidden_act}, {@code activation_function}) denotes, or
         * null for a name that is not a GELU: {@code gelu} is the erf form; {@code gelu_new},
         * {@code gelu_pytorch_tanh} and {@code gelu_fast} are the tanh form.
         */
        public static Gelu forActivation(String name) {
            return switch (name) {
                case "gelu" -> ERF;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> TANH;
                default -> null;
            };
        }
    }

    /**
     * GELU. When a gradient is needed the derivative is computed now, straight into memory that outlives the
     * block, and kept instead of the input and the erf/tanh term (half the memory, no copy). Float arrays go
     * through one table-interpolating pass ({@code GeluKernel}); other types through ND4J ops, the output
     * computed in place over the erf/tanh term.
     */
    public static Tensor gelu(Tensor x, Gelu kind) {
        return ActivationOps.gelu(x, kind);
    }

    public static Tensor tanh(Tensor x) {
        return ActivationOps.tanh(x);
    }

    public static Tensor sigmoid(Tensor x) {
        return ActivationOps.sigmoid(x);
    }

    /** {@code max(x, 0)}; the backward keeps the output (usually kept anyway, as the next layer's input), not a mask. */
    public static Tensor relu(Tensor x) {
        return ActivationOps.relu(x);
    }

    /** SiLU / swish: {@code x·σ(x)}. */
    public static Tensor silu(Tensor x) {
        return ActivationOps.silu(x);
    }

    // ---------------------------------------------------------------- normalisation, softmax

    /**
     * Layer normalisation over the last dimension with a learned scale and shift. For the backward pass it
     * keeps 1/σ and, when no γ is near zero, its own output y, from which x̂ = (y - β)/γ is recovered (y is
     * usually kept anyway, as the block's output); otherwise x̂ itself.
     */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return NormOps.layerNorm(x, gamma, beta, eps);
    }

    /**
     * RMS normalisation over the last dimension with a learned gain (Zhang and Sennrich 2019; Llama's RMSNorm):
     * {@code y = g ⊙ x / sqrt(mean(x²) + eps)}. The backward keeps {@code x̂ = x / rms} and {@code 1/rms}:
     * {@code dx = (dx̂ - x̂·mean(dx̂ ⊙ x̂)) / rms} with {@code dx̂ = dy ⊙ g}, {@code dg = Σ_rows dy ⊙ x̂}.
     */
    public static Tensor rmsNorm(Tensor x, Tensor gain, double eps) {
        return NormOps.rmsNorm(x, gain, eps);
    }

    /**
     * Rotary position embedding in the rotate-half convention (Su et al. 2021, as Hugging Face's Llama applies it):
     * x {@code [..., H·dh]} holds H heads side by side; in every head the pair {@code (x_i, x_{i+dh/2})} of row r is
     * rotated by the angle whose cosine and sine are {@code cos[r, i]} and {@code sin[r, i]} ({@code [rows, dh/2]},
     * rows the flattened leading dimensions): {@code (x_i cos - x_{i+dh/2} sin, x_{i+dh/2} cos + x_i sin)}. The
     * backward rotates the gradient back (the transpose); it keeps only cos and sin.
     */
    public static Tensor rotary(Tensor x, INDArray cos, INDArray sin) {
        return NormOps.rotary(x, cos, sin);
    }

    /** Softmax over the last dimension. */
    public static Tensor softmax(Tensor x) {
        return NormOps.softmax(x);
    }

    /**
     * Log-softmax over the last dimension, {@code y = x - max - log Σ exp(x - max)} row by row (stable for any
     * range of x). The backward {@code g - exp(y) Σ_j g_j} keeps only y.
     */
    public static Tensor logSoftmax(Tensor x) {
        return NormOps.logSoftmax(x);
    }

    // ---------------------------------------------------------------- lookups and losses

    /** Rows {@code ids} of the table {@code w [V, D]}, shape {@code [ids.length, D]}. */
    public static Tensor embedding(Tensor w, int[] ids) {
        return LossOps.embedding(w, ids);
    }

    /** Sum of all elements, as a scalar tensor. */
    public static Tensor sum(Tensor x) {
        return LossOps.sum(x);
    }

    /**
     * Mean cross-entropy of {@code logits [N, V]} against {@code targets}; rows whose target equals
     * {@code ignoreIndex} are left out (PyTorch's convention, usually -100).
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        return LossOps.crossEntropy(logits, targets, ignoreIndex, 0.0);
    }

    /**
     * Cross-entropy with label smoothing {@code eps} as PyTorch defines it: the target distribution is
     * {@code (1 - eps)·onehot + eps/V}, averaged over the rows whose target is not {@code ignoreIndex}.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex, double eps) {
        return LossOps.crossEntropy(logits, targets, ignoreIndex, eps);
    }

    /** Mean squared error of {@code pred} against {@code target} (same shape), averaged over all elements. */
    public static Tensor mse(Tensor pred, INDArray target) {
        return LossOps.mse(pred, target);
    }

    /** Sum over dimension {@code dim}, which is removed from the shape. */
    public static Tensor sum(Tensor x, int dim) {
        return LossOps.sum(x, dim);
    }

    /**
     * Inverted dropout: zeroes each element with probability {@code p} and scales the rest by
     * {@code 1/(1-p)}. The mask comes from a Java generator seeded with {@code seed}, so a run is
     * reproducible on any backend. {@code p == 0} returns {@code x} itself.
     */
    public static Tensor dropout(Tensor x, double p, long seed) {
        return LossOps.dropout(x, p, seed);
    }
}
