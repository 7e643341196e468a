package io.peft4j.adapter.lora;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;

import java.util.function.Function;

/**
 * LoRA on one frozen linear layer: {@code y + s · dropout(x) Aᵀ Bᵀ} with A {@code [r, in]}, B {@code [out, r]}
 * as Hugging Face stores them. Rows the adapter does not apply to get {@code y} unchanged.
 */
final class LoraLayer implements LinearHook {
    private final Tensor a, b;
    private final double scaling, dropout;
    private final long siteSeed;
    private final Function<ForwardContext, Adapter.RowSelection> rows;

    LoraLayer(Tensor a, Tensor b, double scaling, double dropout, long siteSeed, Function<ForwardContext, Adapter.RowSelection> rows) {
        this.a = a;
        this.b = b;
        this.scaling = scaling;
        this.dropout = dropout;
        this.siteSeed = siteSeed;
        this.rows = rows;
    }

    @Override
    public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
        return rows.apply(ctx).addOnRows(y, x, xs -> delta(xs, ctx));
    }

    /** {@code s · dropout(x) Aᵀ Bᵀ}, shaped as x with the output width. */
    private Tensor delta(Tensor x, ForwardContext ctx) {
        long in = a.size(1);
        long[] shape = x.shape().clone();
        shape[shape.length - 1] = b.size(0);
        Tensor x2 = Ops.reshape(x, x.value().length() / in, in);
        if (ctx.training()) x2 = Ops.dropout(x2, dropout, ctx.seed() * 1_000_003L + siteSeed);
        // the scaling multiplies the rank-r intermediate, not the [rows, out] result: same product, r/out of the work
        return Ops.reshape(Ops.matmul(Ops.scale(Ops.matmul(x2, a, false, true), scaling), b, false, true), shape);
    }
}
