package io.peft4j.core.model;

import io.peft4j.core.PeftException;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * How a base model keeps its frozen weights and computes with them. Usually both are one type
 * ({@link #of}); a model can also keep its weight matrices (linear layers, embedding tables, the LM head) in
 * BF16 or F16, half the memory, while every activation, norm weight, bias and product stays in FP32: a
 * matrix is widened to FP32 where it is used, inside the sublayer's scratch memory, and again in the backward
 * pass rather than kept. Full fine-tuning needs FP32 weights.
 *
 * <pre>{@code
 * TransformerModel m = Models.load(dir, Precision.storedAs(DataType.BFLOAT16));   // FP32 compute, BF16 matrices
 * }</pre>
 *
 * @param compute the type of activations, gradients and the weights' working copies
 * @param storage the type weight matrices are kept in: {@code compute}, or BF16 / F16 under FP32 compute
 */
public record Precision(DataType compute, DataType storage) {
    public Precision {
        boolean same = compute == storage && (compute == DataType.FLOAT || compute == DataType.DOUBLE);
        boolean halved = compute == DataType.FLOAT && (storage == DataType.BFLOAT16 || storage == DataType.HALF);
        if (!same && !halved) {
            throw new PeftException("precision: weights stored as " + storage + " with " + compute + " compute is not supported "
                    + "(FLOAT or DOUBLE throughout, or BFLOAT16 / HALF storage with FLOAT compute)");
        }
    }

    /** Weights kept and used in {@code type}. */
    public static Precision of(DataType type) {
        return new Precision(type, type);
    }

    /** FP32 compute with weight matrices kept in {@code storage} (BFLOAT16 or HALF). */
    public static Precision storedAs(DataType storage) {
        return new Precision(DataType.FLOAT, storage);
    }

    /** Whether the weight matrices are kept in a narrower type than the model computes in. */
    public boolean halved() {
        return storage != compute;
    }
}
