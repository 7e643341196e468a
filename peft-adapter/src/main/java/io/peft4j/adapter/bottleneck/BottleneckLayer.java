package io.peft4j.adapter.bottleneck;

import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;

import java.util.function.Function;
import java.util.function.UnaryOperator;

/** One bottleneck adapter at a sublayer site; see {@link BottleneckConfig} for where it reads its input. */
final class BottleneckLayer implements SublayerHook {
    private final Architecture arch;
    private final Tensor down, downBias, up, upBias;
    private final String nonLinearity;
    private final double scaling, dropout;
    private final long siteSeed;
    private final Function<ForwardContext, Adapter.RowSelection> rows;

    BottleneckLayer(BottleneckConfig cfg, Tensor down, Tensor downBias, Tensor up, Tensor upBias, long siteSeed,
                    Function<ForwardContext, Adapter.RowSelection> rows) {
        this.arch = cfg.architecture();
        this.down = down;
        this.downBias = downBias;
        this.up = up;
        this.upBias = upBias;
        this.nonLinearity = cfg.nonLinearity();
        this.scaling = cfg.scaling();
        this.dropout = cfg.dropout();
        this.siteSeed = siteSeed;
        this.rows = rows;
    }

    @Override
    public Tensor apply(Tensor x, Tensor h, UnaryOperator<Tensor> norm, ForwardContext ctx) {
        Adapter.RowSelection sel = rows.apply(ctx);
        if (sel.none()) return h;
        return sel.addOnRows(h, input(x, h, norm), u -> adapter(u, ctx));
    }

    /**
     * This adapter's replacement for {@code h} in every row, whatever rows it is selected for: {@code h + A(u)} with
     * u its input ({@link Composition}s chain and average it).
     */
    Tensor transform(Tensor x, Tensor h, UnaryOperator<Tensor> norm, ForwardContext ctx) {
        return Ops.add(h, adapter(input(x, h, norm), ctx));
    }

    Architecture architecture() {
        return arch;
    }

    /** What A reads: Houlsby h, Pfeiffer {@code LN(x + h)}, parallel x. */
    private Tensor input(Tensor x, Tensor h, UnaryOperator<Tensor> norm) {
        return switch (arch) {
            case HOUSLBY -> h;
            case PFEIFFER -> norm.apply(Ops.add(x, h));
            case PARALLEL -> x;
        };
    }

    /**
     * {@code dropout(s·(W_up f(W_down u + b_down) + b_up))} (dropout while training only), computed as {@code W_up (s·f(...)) + s·b_up} so that the
     * scaling touches the bottleneck, not the model-wide output; weights are PyTorch-oriented {@code [out, in]}.
     */
    private Tensor adapter(Tensor u, ForwardContext ctx) {
        long d = u.size(u.rank() - 1);
        Tensor u2 = Ops.reshape(u, u.value().length() / d, d);
        Tensor z = Ops.linearT(u2, down, downBias);
        z = switch (nonLinearity) {
            case "relu" -> Ops.relu(z);
            case "swish", "silu" -> Ops.silu(z);
            case "gelu" -> Ops.gelu(z, Ops.Gelu.ERF);
            default -> Ops.tanh(z);
        };
        Tensor bias = upBias;
        if (scaling != 1.0) {
            z = Ops.scale(z, scaling);
            if (bias != null) bias = Ops.scale(bias, scaling);
        }
        Tensor out = Ops.linearT(z, up, bias);
        if (ctx.training()) out = Ops.dropout(out, dropout, ctx.seed() * 1_000_003L + siteSeed);    // on the output, as AdapterHub
        return Ops.reshape(out, u.shape());
    }
}
