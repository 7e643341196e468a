package io.peft4j.adapter.bottleneck;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.adapter.bottleneck.BottleneckMethod.BottleneckAdapter;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A {@link Composition} installed under a name: on every sublayer site where one of its bottleneck adapters sits, a
 * hook owned by the composition's name runs the adapters' layers as the composition says, in the rows it applies to
 * ({@link Adapter}'s row selection: all rows while active and untagged, else the rows tagged with its name). It has no
 * parameters and no file form.
 */
public final class ComposedAdapter extends Adapter {
    private final Composition composition;
    private final List<BottleneckAdapter> members = new ArrayList<>();

    ComposedAdapter(PeftModel model, String name, Composition composition) {
        super(name, new Config(composition), model.base());
        this.composition = composition;
        for (String n : composition.adapters()) {
            Adapter a = model.adapter(n);
            if (!(a instanceof BottleneckAdapter b)) {
                throw new IllegalArgumentException("adapter '" + n + "' (" + a.config().peftType() + ") is not a bottleneck adapter: compositions combine bottleneck adapters");
            }
            if (composition instanceof Composition.Stack && composition.adapters().size() > 1
                    && ((BottleneckConfig) b.config()).architecture() == Architecture.PARALLEL) {
                throw new IllegalArgumentException("adapter '" + n + "' is a parallel adapter: it reads the sublayer's input, not the previous adapter's "
                        + "output, so it cannot be stacked (use Average, or a Houlsby or Pfeiffer adapter)");
            }
            members.add(b);
        }
        for (HookSite s : model.base().hooks().sites()) {
            if (s.kind() != SiteKind.ATTENTION_OUTPUT && s.kind() != SiteKind.FFN_OUTPUT) continue;
            List<BottleneckLayer> layers = new ArrayList<>();
            for (BottleneckAdapter m : members) layers.add(m.layer(s.name()));
            if (layers.stream().anyMatch(java.util.Objects::nonNull)) install(s.name(), new Site(layers));
        }
    }

    /** The composition this adapter runs. */
    public Composition composition() {
        return composition;
    }

    @Override
    public boolean hasFileForm() {
        return false;
    }

    /** The composition at one site: its adapters' layers there, in order (null where an adapter has none: the identity). */
    private final class Site implements SublayerHook {
        private final List<BottleneckLayer> layers;

        Site(List<BottleneckLayer> layers) {
            this.layers = layers;
        }

        @Override
        public Tensor apply(Tensor x, Tensor h, UnaryOperator<Tensor> norm, ForwardContext ctx) {
            RowSelection sel = rows(ctx);
            if (sel.none()) return h;
            for (BottleneckAdapter m : members) {
                if (m.isRemoved()) {
                    throw new IllegalStateException("composition '" + name() + "' runs adapter '" + m.name() + "', which was removed: remove the composition first");
                }
            }
            Tensor out;
            if (composition instanceof Composition.Average avg) {
                out = null;
                for (int i = 0; i < layers.size(); i++) {
                    Tensor f = layers.get(i) == null ? h : layers.get(i).transform(x, h, norm, ctx);
                    f = Ops.scale(f, avg.weights().get(i));
                    out = out == null ? f : Ops.add(out, f);
                }
            } else {
                out = h;
                for (BottleneckLayer l : layers) if (l != null) out = l.transform(x, out, norm, ctx);
            }
            if (sel.all()) return out;
            return Ops.add(h, Ops.mul(Ops.sub(out, h), sel.mask(h.rank(), h.dataType())));
        }
    }

    /** What {@link Adapter#config()} reports: the composition, which no adapter file describes. */
    private record Config(Composition composition) implements PeftConfig {
        @Override
        public String peftType() {
            return "COMPOSITION";
        }

        @Override
        public ObjectNode toJson(BaseInfo base) {
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("peft_type", peftType());
            n.put("composition", composition instanceof Composition.Stack ? "Stack" : "Average");
            composition.adapters().forEach(n.putArray("adapters")::add);
            if (composition instanceof Composition.Average a) a.weights().forEach(n.putArray("weights")::add);
            return n;
        }
    }
}
