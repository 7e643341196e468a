package io.peft4j.adapter.ia3;

import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;

import java.util.function.Function;

/**
 * IA3 on one linear layer: scales the output by {@code l} ({@code ia3_l} {@code [out, 1]}) or, on a
 * feed-forward layer, the input ({@code [1, in]}). Rows the adapter does not apply to are scaled by 1.
 */
final class Ia3Layer implements LinearHook {
    private final Tensor l;
    private final boolean feedforward;
    private final Function<ForwardContext, Adapter.RowSelection> rows;

    Ia3Layer(Tensor l, boolean feedforward, Function<ForwardContext, Adapter.RowSelection> rows) {
        this.l = l;
        this.feedforward = feedforward;
        this.rows = rows;
    }

    @Override
    public Tensor input(Tensor x, ForwardContext ctx) {
        return feedforward ? scale(x, ctx) : x;
    }

    @Override
    public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
        return feedforward ? y : scale(y, ctx);
    }

    private Tensor scale(Tensor t, ForwardContext ctx) {
        Adapter.RowSelection sel = rows.apply(ctx);
        if (sel.none()) return t;
        Tensor vec = Ops.reshape(l, l.value().length());
        if (sel.all()) return Ops.mul(t, vec);
        // per row: 1 + m (l - 1), with m the row's 0/1 weight
        Tensor m = sel.mask(t.rank(), t.dataType());
        Tensor one = Tensor.constant(org.nd4j.linalg.factory.Nd4j.ones(t.dataType(), 1));
        return Ops.mul(t, Ops.add(Ops.mul(m, Ops.sub(vec, one)), one));
    }
}
