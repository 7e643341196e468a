package io.peft4j.benchmarks;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNorm;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNormBp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.api.ops.impl.transforms.strict.GELU;
import org.nd4j.linalg.api.ops.impl.transforms.strict.GELUDerivative;
import org.nd4j.linalg.api.ops.impl.transforms.strict.PreciseGELU;
import org.nd4j.linalg.api.ops.impl.transforms.strict.PreciseGELUDerivative;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * peft4j's hand-written kernels in {@code io.peft4j.core.tensor} ({@code GeluKernel}, {@code LayerNormKernel},
 * {@code BatchedGemm}) against ND4J's own ways of computing the same thing, on BERT-base shapes (8 sequences of 128
 * tokens): ND4J's fused transform or custom op where one exists, and the chain of ND4J ops that peft4j would use
 * otherwise. The kernels are reached through the public ops that use them ({@link Ops#gelu}, {@link Ops#layerNorm},
 * {@link Ops#matmul}, {@link Tensor#backward}), so their times include what those ops add around the kernel. Each
 * round runs every contender of a table once, in the same order; medians and ranges of the measured rounds, each
 * call inside a workspace ({@link Workspaces#run}) as in a forward pass. Every contender's result is checked
 * against the kernel's and against a float64 computation of the same function; the largest absolute differences
 * are in the tables. Writes {@code docs/benchmarks-kernels.md} with the CPU model and the same run's sgemm.
 * Usage: {@code KernelBenchmarks OUTPUT.md [ROUNDS]} (default 21 measured rounds, after 5 warm-up rounds).
 */
public final class KernelBenchmarks {
    private static final int TOKENS = 8 * 128, HIDDEN = 768, INTERMEDIATE = 3072, HEADS = 8 * 12, SEQ = 128, HEAD_DIM = 64, LORA_RANK = 8;
    private static final double EPS = 1e-12;                 // BERT's layer_norm_eps
    private static final int WARMUP = 5;

    private KernelBenchmarks() {
    }

    /** One way of computing a table's result; {@code compute} returns what it computed (for the check). */
    record Contender(String name, Supplier<INDArray[]> compute) {
    }

    public static void main(String[] args) {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/benchmarks-kernels.md");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 21;
        String load = ProbeBenchmark.loadAverage();
        StringBuilder md = new StringBuilder("# Kernel benchmarks\n\n");
        md.append(BenchmarkPage.generatedBy("docs/generate-kernel-benchmarks.sh"));
        md.append(String.format(Locale.ROOT, "Load average at start: %s. peft4j's three hand-written kernels in `io.peft4j.core.tensor` "
                + "(`GeluKernel`, `LayerNormKernel`, `BatchedGemm`) against ND4J%s's own ways of computing the same thing on BERT-base "
                + "shapes (8 sequences of 128 tokens): ND4J's fused transform or custom op where one exists, and the chain of ND4J ops that "
                + "peft4j would use otherwise. The kernels are reached through the public ops that use them (`Ops.gelu`, `Ops.layerNorm`, "
                + "`Ops.matmul`, `Tensor.backward`), so their times include what those ops add around the kernel (checks, allocating the "
                + "output, for a backward the copy of the gradient into the parameter's). In each round every contender of a table runs "
                + "once, always in the table's order; %d measured rounds after %d warm-up rounds, each call inside a workspace "
                + "(`Workspaces.run`) as in a forward pass. Times are the median and the range of the measured rounds in ms; "
                + "\"/ kernel\" is a contender's median over the kernel's (above 1: the kernel is faster). The last two columns are the "
                + "largest absolute difference of a contender's result (every output, for the rows with several) from the kernel's and "
                + "from the same function computed in float64: a row whose difference is far above float rounding computes another "
                + "function, and its time is not a like-for-like comparison. Compare ratios, not absolute times, across machines.\n\n",
                load, nd4jVersion(), rounds, WARMUP));
        Nd4j.getRandom().setSeed(42);
        md.append(gelu(rounds));
        md.append(layerNorm(rounds));
        md.append(gemm(rounds));
        AtomicFiles.write(out, md.toString().getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
    }

    // ---------------------------------------------------------------- GELU

    private static String gelu(int rounds) {
        INDArray x = Nd4j.randn(DataType.FLOAT, TOKENS, INTERMEDIATE).muli(2);
        INDArray x64 = x.castTo(DataType.DOUBLE);
        Tensor frozen = Tensor.constant(x), trainable = Tensor.parameter(x);
        StringBuilder md = new StringBuilder();
        String shape = String.format(Locale.ROOT, "float [%d, %d], x ~ N(0, 4)", TOKENS, INTERMEDIATE);
        for (Ops.Gelu kind : Ops.Gelu.values()) {
            boolean erf = kind == Ops.Gelu.ERF;
            INDArray[] ref = geluChain(x64, true, erf);
            String form = erf ? "exact (erf) form, BERT's `gelu`" : "tanh form, GPT-2's `gelu_new`";
            String chain = erf ? "`x·√½`, `Erf`, `+1`, `·x`, `·½`" : "`x²`, `·0.044715`, `+1`, `·x`, `·√(2/π)`, `tanh`, `+1`, `·x`, `·½`";
            String fusedName = erf ? "ND4J `GELU` op: x·σ(1.702x), another function" : "ND4J `PreciseGELU` op: x/2·(1 + tanh(√(2/π)(x + (0.044715x)³))), another function";
            String fusedDerivName = erf ? "ND4J `GELU` + `GELUDerivative` ops: another function" : "ND4J `PreciseGELU` + `PreciseGELUDerivative` ops: another function";

            List<Contender> value = List.of(
                    new Contender("peft4j `GeluKernel` (`Ops.gelu`, frozen input): one table-interpolating pass",
                            () -> new INDArray[]{Ops.gelu(frozen, kind).value()}),
                    new Contender("ND4J op chain: " + chain + " (peft4j's path for other types)", () -> geluChain(x, false, erf)),
                    new Contender(fusedName, () -> {
                        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
                        Nd4j.exec(erf ? new GELU(x, y) : new PreciseGELU(x, y));
                        return new INDArray[]{y};
                    }));
            md.append(table(String.format(Locale.ROOT, "GELU, %s: value (%s)", form, shape),
                    "The value alone, as inference computes it. " + (erf
                            ? "ND4J has no op for the exact form: its `org.nd4j.linalg.api.ops.impl.transforms.strict.GELU` is the sigmoid "
                            + "approximation x·σ(1.702x), timed here for its speed only, and the like-for-like contender is the chain of ND4J ops."
                            : "ND4J's `org.nd4j.linalg.api.ops.impl.transforms.strict.PreciseGELU` is meant to be this form but cubes 0.044715·x "
                            + "instead of multiplying x³ by 0.044715 (its differences below), so it is timed for its speed only; the "
                            + "like-for-like contender is the chain of ND4J ops."),
                    value, new INDArray[]{ref[0]}, rounds));

            List<Contender> both = List.of(
                    new Contender("peft4j `GeluKernel` (`Ops.gelu`, trainable input): value and derivative in one pass", () -> {
                        Ops.gelu(trainable, kind);
                        return null;
                    }),
                    new Contender("ND4J op chain: value and derivative (peft4j's path for other types)", () -> geluChain(x, true, erf)),
                    new Contender(fusedDerivName, () -> {
                        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c'), d = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
                        Nd4j.exec(erf ? new GELU(x, y) : new PreciseGELU(x, y));
                        Nd4j.exec(erf ? new GELUDerivative(x, d) : new PreciseGELUDerivative(x, d));
                        return new INDArray[]{y, d};
                    }));
            // the kernel's derivative is what a backward with gradient 1 gives x
            INDArray[] kernelBoth = geluKernelWithDerivative(trainable, kind);
            md.append(table(String.format(Locale.ROOT, "GELU, %s: value and derivative (%s)", form, shape),
                    "What training computes: the value, and the derivative kept for the backward pass (peft4j writes it in the same pass; "
                            + "its result here is the value and what a backward with gradient 1 gives the input).",
                    both, ref, rounds, kernelBoth));
        }
        return md.toString();
    }

    /** The kernel's value and derivative for {@code x}: the derivative as the gradient a backward with gradient 1 gives x. */
    private static INDArray[] geluKernelWithDerivative(Tensor x, Ops.Gelu kind) {
        Tensor y = Ops.gelu(x, kind);
        x.zeroGrad();
        y.backward(Nd4j.onesLike(y.value()));
        return new INDArray[]{y.value().dup(), x.grad().dup()};
    }

    /** GELU (and its derivative) of {@code xv} as a chain of ND4J ops: peft4j's code for types its kernel does not take. */
    static INDArray[] geluChain(INDArray xv, boolean grad, boolean erf) {
        var blas = Nd4j.getBlasWrapper().level1();
        INDArray d = grad ? Nd4j.createUninitialized(xv.dataType(), xv.shape(), 'c') : null;
        INDArray aux;
        if (erf) {
            aux = xv.mul(Math.sqrt(0.5));
            Nd4j.exec(new Erf(aux, aux));                                       // erf(x/√2)
            if (grad) {
                d.assign(xv).muli(xv).muli(-0.5);
                Transforms.exp(d, false).muli(1 / Math.sqrt(2 * Math.PI)).muli(xv);   // x·φ(x)
                aux.addi(1.0);
                blas.axpy(d.length(), 0.5, aux, d);                             // + Φ(x) = (1 + erf)/2
            } else {
                aux.addi(1.0);
            }
        } else {
            double c = Math.sqrt(2 / Math.PI);
            aux = xv.mul(xv).muli(0.044715).addi(1.0).muli(xv).muli(c);
            Transforms.tanh(aux, false);                                        // tanh(√(2/π)(x + 0.044715x³))
            if (grad) {
                d.assign(xv).muli(xv).muli(3 * 0.044715).addi(1.0).muli(c).muli(xv).muli(0.5);
                d.muli(aux.mul(aux).rsubi(1.0));                                // ½x·sech²(u)·du/dx
            }
            aux.addi(1.0);
            if (grad) blas.axpy(d.length(), 0.5, aux, d);                       // + (1 + tanh)/2
        }
        INDArray y = aux.muli(xv).muli(0.5);
        return grad ? new INDArray[]{y, d} : new INDArray[]{y};
    }

    // ---------------------------------------------------------------- layer normalisation

    private static String layerNorm(int rounds) {
        INDArray x = Nd4j.randn(DataType.FLOAT, TOKENS, HIDDEN).muli(2).addi(0.5);
        INDArray gamma = Nd4j.randn(DataType.FLOAT, HIDDEN).muli(0.1).addi(1), beta = Nd4j.randn(DataType.FLOAT, HIDDEN).muli(0.1);
        INDArray g = Nd4j.randn(DataType.FLOAT, TOKENS, HIDDEN);
        INDArray[] ref = layerNormChain(x.castTo(DataType.DOUBLE), gamma.castTo(DataType.DOUBLE), beta.castTo(DataType.DOUBLE));
        INDArray[] refGrads = layerNormChainBackward(g.castTo(DataType.DOUBLE), gamma.castTo(DataType.DOUBLE), ref[1], ref[2], true);
        INDArray[] saved = layerNormChain(x, gamma, beta);       // x̂ and 1/σ, as the chain's forward keeps them
        String shape = String.format(Locale.ROOT, "float [%d, %d], eps %.0e", TOKENS, HIDDEN, EPS);
        StringBuilder md = new StringBuilder();

        Tensor xc = Tensor.constant(x), gc = Tensor.constant(gamma), bc = Tensor.constant(beta);
        List<Contender> forward = List.of(
                new Contender("peft4j `LayerNormKernel` (`Ops.layerNorm`, frozen input): one pass over each row",
                        () -> new INDArray[]{Ops.layerNorm(xc, gc, bc, EPS).value()}),
                new Contender("ND4J `LayerNorm` custom op", () -> {
                    INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
                    Nd4j.exec(new LayerNorm(x, gamma, beta, y, true, 1));
                    return new INDArray[]{y};
                }),
                new Contender("ND4J op chain: mean, subtract, square, mean, `pow(var + eps, -½)`, scale rows, `·γ`, `+β` (peft4j's path for other types)",
                        () -> new INDArray[]{layerNormChain(x, gamma, beta)[0]}));
        md.append(table("Layer normalisation: forward (" + shape + ")",
                "The output alone, as inference computes it, against ND4J's fused "
                        + "`org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNorm` (gain and bias, normalised over dimension 1) and the chain of ND4J ops.",
                forward, new INDArray[]{ref[0]}, rounds));

        // backward, γ and β frozen (the PEFT case): dx only
        Tensor xp = Tensor.parameter(x);
        Tensor yFrozen = Ops.layerNorm(xp, gc, bc, EPS);
        List<Contender> dxOnly = List.of(
                new Contender("peft4j `LayerNormKernel` (`Tensor.backward` of `Ops.layerNorm`, γ and β frozen): dx from the output, one pass", () -> {
                    xp.zeroGrad();
                    yFrozen.backward(g);
                    return new INDArray[]{xp.grad()};
                }),
                new Contender("ND4J op chain: dx from the kept x̂ and 1/σ (peft4j's path for other types)",
                        () -> layerNormChainBackward(g, gamma, saved[1], saved[2], false)),
                new Contender("ND4J `LayerNormBp` custom op (computes dγ and dβ too: it has no dx-only form)", () -> layerNormBp(x, gamma, beta, g)));
        md.append(table("Layer normalisation: backward, dx only (" + shape + ")",
                "The input's gradient with γ and β frozen, as LoRA and the other adapters train, against ND4J's "
                        + "`org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNormBp` (which always computes dγ and dβ as well; only its dx is "
                        + "compared) and the chain of ND4J ops.",
                dxOnly, new INDArray[]{refGrads[0]}, rounds));

        // backward, γ and β trainable: dx, dγ, dβ
        Tensor xq = Tensor.parameter(x), gp = Tensor.parameter(gamma), bp = Tensor.parameter(beta);
        Tensor yAll = Ops.layerNorm(xq, gp, bp, EPS);
        List<Contender> all = List.of(
                new Contender("peft4j `LayerNormKernel` (`Tensor.backward` of `Ops.layerNorm`, all trainable): dx in one pass, dγ and dβ by ND4J ops", () -> {
                    xq.zeroGrad();
                    gp.zeroGrad();
                    bp.zeroGrad();
                    yAll.backward(g);
                    return new INDArray[]{xq.grad(), gp.grad(), bp.grad()};
                }),
                new Contender("ND4J op chain: dx, dγ, dβ from the kept x̂ and 1/σ (peft4j's path for other types)",
                        () -> layerNormChainBackward(g, gamma, saved[1], saved[2], true)),
                new Contender("ND4J `LayerNormBp` custom op", () -> layerNormBp(x, gamma, beta, g)));
        md.append(table("Layer normalisation: backward, dx, dγ and dβ (" + shape + ")",
                "All three gradients, as full fine-tuning computes them, against the same two. dγ and dβ are sums over 1,024 rows, so "
                        + "float rounding leaves them further from float64 than dx, in every contender alike.",
                all, refGrads, rounds));
        return md.toString();
    }

    /** {@code [y, x̂, 1/σ]} by the chain of ND4J ops peft4j uses for types its kernel does not take. */
    static INDArray[] layerNormChain(INDArray x2, INDArray gamma, INDArray beta) {
        INDArray xc = x2.subColumnVector(x2.mean(1));
        INDArray var = xc.mul(xc).mean(1);
        INDArray rstd = Transforms.pow(var.addi(EPS), -0.5, false).reshape(var.length(), 1);
        INDArray xhat = xc.muliColumnVector(rstd);
        INDArray y = xhat.mulRowVector(gamma).addiRowVector(beta);
        return new INDArray[]{y, xhat, rstd};
    }

    /** {@code [dx]} or {@code [dx, dγ, dβ]} from the kept x̂ and 1/σ, by the chain of ND4J ops. */
    static INDArray[] layerNormChainBackward(INDArray g, INDArray gamma, INDArray xhat, INDArray rstd, boolean params) {
        INDArray dxhat = g.mulRowVector(gamma);
        INDArray m1 = dxhat.mean(1).reshape(dxhat.size(0), 1);
        INDArray m2 = dxhat.mul(xhat).mean(1).reshape(dxhat.size(0), 1);
        INDArray dx = dxhat.subiColumnVector(m1).subi(xhat.mulColumnVector(m2)).muliColumnVector(rstd);
        return params ? new INDArray[]{dx, g.mul(xhat).sum(0), g.sum(0)} : new INDArray[]{dx};
    }

    /** {@code [dx, dγ, dβ]} by ND4J's {@code layer_norm_bp}. */
    private static INDArray[] layerNormBp(INDArray x, INDArray gamma, INDArray beta, INDArray g) {
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
        INDArray dg = Nd4j.createUninitialized(DataType.FLOAT, gamma.shape(), 'c'), db = Nd4j.createUninitialized(DataType.FLOAT, beta.shape(), 'c');
        Nd4j.exec(new LayerNormBp(x, gamma, beta, g, dx, dg, db, true, 1));
        return new INDArray[]{dx, dg, db};
    }

    // ---------------------------------------------------------------- matrix products

    private static String gemm(int rounds) {
        StringBuilder md = new StringBuilder();
        INDArray q = Nd4j.randn(DataType.FLOAT, HEADS, SEQ, HEAD_DIM), k = Nd4j.randn(DataType.FLOAT, HEADS, SEQ, HEAD_DIM);
        INDArray p = Nd4j.rand(DataType.FLOAT, HEADS, SEQ, SEQ).divi(SEQ / 2.0), v = Nd4j.randn(DataType.FLOAT, HEADS, SEQ, HEAD_DIM);
        INDArray alpha = Nd4j.ones(DataType.FLOAT, HEADS), beta = Nd4j.zeros(DataType.FLOAT, HEADS);
        String op = "`batched_gemm` (ND4J's `org.nd4j.linalg.api.ops.impl.reduce.custom.BatchMmul` runs it, but BatchMmul's array "
                + "constructor leaves out the α and β inputs the op requires in this ND4J and fails, so the op is called directly, on "
                + "column-major views: Cᵢᵀ = op(Bᵢ)ᵀ·Aᵢᵀ)";
        md.append(batched("Attention scores: Q·Kᵀ, " + HEADS + " products of [" + SEQ + " x " + HEAD_DIM + "]·[" + HEAD_DIM + " x " + SEQ + "]",
                "Every head's scores for a batch of 8 sequences of 128 tokens (8 x 12 heads): `BatchedGemm`'s loop of `cblas_sgemm` "
                        + "calls on the arrays' memory against ND4J's batched `Nd4j.matmul` of the rank-3 arrays and " + op + ".",
                q, k, true, alpha, beta, rounds));
        md.append(batched("Attention output: P·V, " + HEADS + " products of [" + SEQ + " x " + SEQ + "]·[" + SEQ + " x " + HEAD_DIM + "]",
                "The probabilities times the values for the same heads, against the same two.", p, v, false, alpha, beta, rounds));
        md.append(plain(TOKENS, HIDDEN, HIDDEN, "BERT-base's projections (query, key, value, attention output)", rounds));
        md.append(plain(TOKENS, HIDDEN, LORA_RANK, "LoRA's rank-8 down-projection of BERT-base's hidden states", rounds));
        return md.toString();
    }

    private static String batched(String title, String sentence, INDArray a, INDArray b, boolean tb, INDArray alpha, INDArray beta, int rounds) {
        Tensor at = Tensor.constant(a), bt = Tensor.constant(b);
        INDArray[] ref = {Nd4j.matmul(a.castTo(DataType.DOUBLE), b.castTo(DataType.DOUBLE), false, tb, false)};
        List<Contender> cs = List.of(
                new Contender("peft4j `BatchedGemm` (`Ops.matmul` of rank-3 arrays): one `cblas_sgemm` per product",
                        () -> new INDArray[]{Ops.matmul(at, bt, false, tb).value()}),
                new Contender("ND4J `Nd4j.matmul` of the rank-3 arrays", () -> new INDArray[]{Nd4j.matmul(a, b, false, tb, false)}),
                new Contender("ND4J `batched_gemm` custom op", () -> new INDArray[]{batchedGemmOp(a, b, tb, alpha, beta)}));
        return table(title + " (float)", sentence, cs, ref, rounds);
    }

    /**
     * {@code A_i·op(B_i)} for row-major rank-3 {@code a} and {@code b} by ND4J's {@code batched_gemm} op, which works on
     * column-major matrices: the column-major view of a row-major matrix is its transpose, so the op computes
     * {@code C_iᵀ = op(B_i)ᵀ·A_iᵀ} straight into the row-major result.
     */
    static INDArray batchedGemmOp(INDArray a, INDArray b, boolean tb, INDArray alpha, INDArray beta) {
        int batch = (int) a.size(0), m = (int) a.size(1), k = (int) a.size(2), n = (int) (tb ? b.size(1) : b.size(2));
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[]{batch, m, n}, 'c');
        INDArray[] in = new INDArray[2 + 2 * batch], out = new INDArray[batch];
        in[0] = alpha;
        in[1] = beta;
        for (int i = 0; i < batch; i++) {
            in[2 + i] = tb ? b.slice(i) : b.slice(i).transpose();     // [n, k]: Bᵢᵀ (column-major memory of Kᵢ is Kᵢᵀ, transposed by the op)
            in[2 + batch + i] = a.slice(i).transpose();               // [k, m]: Aᵢᵀ
            out[i] = c.slice(i).transpose();                          // [n, m]: Cᵢᵀ
        }
        Nd4j.exec(DynamicCustomOp.builder("batched_gemm").addInputs(in).addOutputs(out)
                .addIntegerArguments(tb ? 1 : 0, 0, n, m, k, tb ? k : n, k, n, batch).build());
        return c;
    }

    /** A 2-D product {@code [m x k]·[k x n]}: the direct cblas call ({@code BatchedGemm.gemm}) against ND4J's. */
    private static String plain(int m, int k, int n, String what, int rounds) {
        INDArray a = Nd4j.randn(DataType.FLOAT, m, k), b = Nd4j.randn(DataType.FLOAT, k, n).muli(0.05);
        Tensor at = Tensor.constant(a), bt = Tensor.constant(b);
        INDArray[] ref = {a.castTo(DataType.DOUBLE).mmul(b.castTo(DataType.DOUBLE))};
        List<Contender> cs = List.of(
                new Contender("peft4j `BatchedGemm.gemm` (`Ops.matmul` of 2-D arrays): `cblas_sgemm` into a row-major result",
                        () -> new INDArray[]{Ops.matmul(at, bt, false, false).value()}),
                new Contender("ND4J `Nd4j.gemm` into a row-major result (peft4j's path off OpenBLAS)", () -> {
                    INDArray c = Nd4j.createUninitialized(DataType.FLOAT, new long[]{m, n}, 'c');
                    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                    return new INDArray[]{c};
                }),
                new Contender("ND4J `INDArray.mmul`", () -> new INDArray[]{a.mmul(b)}));
        return table(String.format(Locale.ROOT, "Plain product: [%d x %d]·[%d x %d] (float)", m, k, k, n),
                what + " for 8 sequences of 128 tokens, the other kind of product `BatchedGemm` makes: straight through "
                        + "`cblas_sgemm`, against ND4J's `Nd4j.gemm` into a preallocated row-major result and `INDArray.mmul`.",
                cs, ref, rounds);
    }

    // ---------------------------------------------------------------- timing and the table

    private static String table(String title, String sentence, List<Contender> cs, INDArray[] reference, int rounds) {
        return table(title, sentence, cs, reference, rounds, null);
    }

    /**
     * Times the contenders alternating (each round runs each once, in order) and writes the table; {@code kernelResult}
     * is the first contender's result where its {@code compute} does not return it (null: it does).
     */
    private static String table(String title, String sentence, List<Contender> cs, INDArray[] reference, int rounds, INDArray[] kernelResult) {
        List<INDArray[]> results = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            INDArray[] r = i == 0 && kernelResult != null ? kernelResult : cs.get(i).compute().get();
            INDArray[] copy = new INDArray[r.length];
            for (int j = 0; j < r.length; j++) copy[j] = r[j].dup('c');
            results.add(copy);
        }
        List<List<Double>> times = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) times.add(new ArrayList<>());
        for (int round = 0; round < WARMUP + rounds; round++) {
            for (int i = 0; i < cs.size(); i++) {
                Supplier<INDArray[]> f = cs.get(i).compute();
                long t0 = System.nanoTime();
                Workspaces.run(() -> {
                    f.get();
                    return new INDArray[0];
                });
                long t = System.nanoTime() - t0;
                if (round >= WARMUP) times.get(i).add(t / 1e6);
            }
        }
        double kernel = ProbeBenchmark.median(times.get(0));
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "## %s%n%n%s%n%n", title, sentence));
        md.append("| contender | median | range | / kernel | max abs diff from kernel | max abs diff from float64 |\n|---|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < cs.size(); i++) {
            List<Double> t = times.get(i);
            double med = ProbeBenchmark.median(t);
            md.append(String.format(Locale.ROOT, "| %s | %.2f ms | %.2f–%.2f ms | %.2f | %s | %s |%n", cs.get(i).name(), med, Collections.min(t),
                    Collections.max(t), med / kernel, i == 0 ? "" : diff(results.get(i), results.get(0)), diff(results.get(i), reference)));
        }
        System.out.println(md);
        return md.append('\n').toString();
    }

    /** The largest absolute difference over the outputs both have, in the first's shape, in double. */
    private static String diff(INDArray[] a, INDArray[] b) {
        double max = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            INDArray x = a[i].castTo(DataType.DOUBLE), y = b[i].castTo(DataType.DOUBLE).reshape('c', a[i].shape());
            max = Math.max(max, x.sub(y).amaxNumber().doubleValue());
        }
        return String.format(Locale.ROOT, "%.1e", max);
    }

    private static String nd4jVersion() {
        String v = Nd4j.class.getPackage().getImplementationVersion();
        return v == null ? "" : " " + v;
    }
}
