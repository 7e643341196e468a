package io.peft4j.adapter;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.adapter.bottleneck.ComposedAdapter;
import io.peft4j.adapter.bottleneck.Composition;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * AdapterHub's Stack and Average of bottleneck adapters on bert-tiny (post-LN, so Pfeiffer's {@code LN(x + h)} matters),
 * against the adapters' functions computed here in double loops from their tensors at every sublayer site.
 */
class BottleneckCompositionTest {
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}, {8, 6, 2, 9}, {4, 4, 12, 3}}, null,
            new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}});

    private static PeftModel bert() {
        return PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE), "bert-tiny");
    }

    /** {@code hou}: Houlsby at both sublayers; {@code pfe}: Pfeiffer after the feed-forward one; {@code par}: parallel. Random weights. */
    private static PeftModel withAdapters() {
        PeftModel m = bert();
        Fixtures.randomise(m.add("hou", BottleneckConfig.of(Architecture.HOUSLBY).withReductionFactor(4), 1), 21);
        Fixtures.randomise(m.add("pfe", BottleneckConfig.of(Architecture.PFEIFFER).withReductionFactor(8), 2), 22);
        Fixtures.randomise(m.add("par", BottleneckConfig.of(Architecture.PARALLEL).withReductionFactor(4), 3), 23);
        return m;
    }

    private static INDArray hidden(PeftModel m, ForwardContext ctx) {
        return m.forward(BATCH, ctx).hidden().value().dup();
    }

    private static INDArray hidden(PeftModel m) {
        return hidden(m, ForwardContext.inference(BATCH.size()));
    }

    // ------------------------------------------------------------------ the reference, in double loops

    /** One adapter at one site: its architecture and tensors (BERT keeps them under the site's own name). */
    private record Hand(Architecture arch, String f, double s, double[][] down, double[] downBias, double[][] up, double[] upBias) {
        static Hand of(Adapter a, String site) {
            Map<String, Tensor> p = a.parameters();
            if (!p.containsKey(site + ".adapter_down.0.weight")) return null;
            BottleneckConfig c = (BottleneckConfig) a.config();
            return new Hand(c.architecture(), c.nonLinearity(), c.scaling(), p.get(site + ".adapter_down.0.weight").value().toDoubleMatrix(),
                    p.get(site + ".adapter_down.0.bias").value().toDoubleVector(), p.get(site + ".adapter_up.weight").value().toDoubleMatrix(),
                    p.get(site + ".adapter_up.bias").value().toDoubleVector());
        }

        /** {@code s·(W_up f(W_down u + b_down) + b_up)} for one position. */
        double[] apply(double[] u) {
            double[] z = new double[down.length], out = new double[up.length];
            for (int j = 0; j < z.length; j++) {
                double v = downBias[j];
                for (int i = 0; i < u.length; i++) v += down[j][i] * u[i];
                z[j] = f.equals("relu") ? Math.max(0, v) : v / (1 + Math.exp(-v));      // relu, or swish
            }
            for (int i = 0; i < out.length; i++) {
                double v = upBias[i];
                for (int j = 0; j < z.length; j++) v += up[i][j] * z[j];
                out[i] = s * v;
            }
            return out;
        }
    }

    /** Replaces h by the composition of {@code hands} computed position by position (null entries: adapters absent here). */
    private static final class Reference implements SublayerHook {
        private final List<Hand> hands;
        private final double[] weights;     // null: a stack

        Reference(List<Hand> hands, double[] weights) {
            this.hands = hands;
            this.weights = weights;
        }

        @Override
        public Tensor apply(Tensor x, Tensor h, UnaryOperator<Tensor> norm, ForwardContext ctx) {
            double[][][] xs = cube(x.value()), hs = cube(h.value()), out = new double[hs.length][hs[0].length][];
            for (int b = 0; b < hs.length; b++) {
                for (int t = 0; t < hs[0].length; t++) {
                    if (weights == null) {
                        double[] cur = hs[b][t];
                        for (Hand a : hands) if (a != null) cur = plus(cur, a.apply(input(a, xs[b][t], cur, norm)));
                        out[b][t] = cur;
                    } else {
                        double[] avg = new double[hs[0][0].length];
                        for (int k = 0; k < hands.size(); k++) {
                            Hand a = hands.get(k);
                            double[] f = a == null ? hs[b][t] : plus(hs[b][t], a.apply(input(a, xs[b][t], hs[b][t], norm)));
                            for (int i = 0; i < avg.length; i++) avg[i] += weights[k] * f[i];
                        }
                        out[b][t] = avg;
                    }
                }
            }
            return Tensor.constant(Nd4j.createFromArray(out));
        }

        /** Houlsby reads h, Pfeiffer the model's {@code LN(x + h)}, parallel x. */
        private static double[] input(Hand a, double[] x, double[] h, UnaryOperator<Tensor> norm) {
            return switch (a.arch()) {
                case HOUSLBY -> h;
                case PARALLEL -> x;
                case PFEIFFER -> norm.apply(Tensor.constant(Nd4j.createFromArray(new double[][]{plus(x, h)}))).value().toDoubleVector();
            };
        }
    }

    private static double[] plus(double[] a, double[] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < c.length; i++) c[i] = a[i] + b[i];
        return c;
    }

    private static double[][][] cube(INDArray a) {
        double[][][] c = new double[(int) a.size(0)][(int) a.size(1)][];
        for (int b = 0; b < c.length; b++) for (int t = 0; t < c[0].length; t++) c[b][t] = a.slice(b).getRow(t).toDoubleVector();
        return c;
    }

    /** A fresh bert-tiny whose every sublayer site runs the hand-computed composition of {@code names} from {@code m}'s adapters. */
    private static INDArray reference(PeftModel m, List<String> names, double[] weights) {
        PeftModel ref = bert();
        for (HookSite s : ref.base().hooks().sites()) {
            if (s.kind() != SiteKind.ATTENTION_OUTPUT && s.kind() != SiteKind.FFN_OUTPUT) continue;
            List<Hand> hands = new ArrayList<>();
            for (String n : names) hands.add(Hand.of(m.adapter(n), s.name()));
            ref.base().hooks().add(s.name(), new Reference(hands, weights));
        }
        return hidden(ref);
    }

    private static double diff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    // ------------------------------------------------------------------ tests

    @Test
    void stackFeedsEachAdaptersOutputToTheNextAtEverySite() {
        for (List<String> order : List.of(List.of("hou", "pfe"), List.of("pfe", "hou"))) {
            PeftModel m = withAdapters();
            Composition.activate(m, "madx", new Composition.Stack(order));
            INDArray got = hidden(m);
            assertThat(diff(got, reference(m, order, null))).as("%s", order).isLessThan(1e-10);
            assertThat(diff(got, reference(m, List.of(order.get(0)), null))).as("the second adapter matters").isGreaterThan(1e-3);
        }
        PeftModel m = withAdapters();
        Composition.activate(m, "madx", Composition.Stack.of("hou", "pfe"));
        INDArray stacked = hidden(m);
        m.setActive("hou", "pfe");     // both active, without a composition: their hooks chain in installation order
        assertThat(diff(hidden(m), stacked)).as("two sequential adapters' hooks in order").isLessThan(1e-12);
    }

    @Test
    void averageIsTheWeightedMeanOfTheAdaptersOutputsWithWeightsNormalised() {
        PeftModel m = withAdapters();
        Composition.Average avg = new Composition.Average(List.of("hou", "pfe", "par"), List.of(1.0, 3.0, 4.0));
        assertThat(avg.weights()).containsExactly(0.125, 0.375, 0.5);
        assertThat(Composition.Average.of("hou", "pfe").weights()).containsExactly(0.5, 0.5);
        Composition.activate(m, "ens", avg);
        INDArray got = hidden(m);
        assertThat(diff(got, reference(m, List.of("hou", "pfe", "par"), new double[]{0.125, 0.375, 0.5}))).isLessThan(1e-10);
        assertThat(diff(got, reference(m, List.of("hou", "pfe", "par"), new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}))).as("the weights matter").isGreaterThan(1e-3);
    }

    /** A server tags rows with compositions, single adapters and the base: each row computes what it computes alone. */
    @Test
    void compositionsServeTheirRowsOfAMixedBatch() {
        PeftModel m = withAdapters();
        Composition.add(m, "madx", Composition.Stack.of("hou", "pfe"));
        Composition.add(m, "ens", new Composition.Average(List.of("pfe", "par"), List.of(2.0, 1.0)));
        List<String> tags = List.of("madx", "hou", "__base__", "ens");
        INDArray mixed = hidden(m, new ForwardContext(4, tags, false, 0));
        for (int r = 0; r < 4; r++) {
            Batch one = new Batch(new int[][]{BATCH.ids()[r]}, null, new int[][]{BATCH.attentionMask()[r]});
            INDArray alone = m.forward(one, new ForwardContext(1, List.of(tags.get(r)), false, 0)).hidden().value();
            assertThat(diff(mixed.slice(r), alone.slice(0))).as("row %d (%s)", r, tags.get(r)).isLessThan(1e-10);
        }
        m.setActive("madx");
        assertThat(diff(mixed.slice(0), hidden(m).slice(0))).as("the tagged row is what the active composition gives").isLessThan(1e-10);
        m.setActive("ens");
        assertThat(diff(mixed.slice(3), hidden(m).slice(3))).isLessThan(1e-10);
    }

    /** Training through a stack trains its members: their gradients match finite differences. */
    @Test
    void gradientsFlowThroughACompositionToItsMembers() {
        PeftModel m = withAdapters();
        Composition.activate(m, "madx", Composition.Stack.of("hou", "pfe"));
        assertThat(m.adapter("madx").parameters()).isEmpty();
        List<Tensor> params = new ArrayList<>(m.adapter("hou").parameters().values());
        params.addAll(m.adapter("pfe").parameters().values());
        GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(4)).hidden(), 5), params, 3, 1e-5);
    }

    @Test
    void compositionsAreNotSavedTheirMembersAre(@TempDir Path tmp) throws Exception {
        PeftModel m = withAdapters();
        ComposedAdapter madx = (ComposedAdapter) Composition.activate(m, "madx", Composition.Stack.of("hou", "pfe"));
        assertThat(madx.composition()).isEqualTo(Composition.Stack.of("hou", "pfe"));
        m.save(tmp.resolve("out"));
        try (var files = Files.list(tmp.resolve("out"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("hou", "pfe", "par");
        }
    }

    /** The example of {@link Composition}'s Javadoc and of docs/methods.md. */
    @Test
    void documentedExampleRuns() {
        PeftModel model = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        model.add("lang", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
        model.add("task", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
        Composition.activate(model, "madx", new Composition.Stack(List.of("lang", "task")));
        Composition.add(model, "ensemble", new Composition.Average(List.of("lang", "task"), List.of(1.0, 3.0)));
        ForwardContext rows = new ForwardContext(2, List.of("madx", "ensemble"), false, 0);
        assertThat(model.forward(new Batch(new int[][]{{3, 7}, {5, 9}}, null, null), rows).hidden().shape()).containsExactly(2, 2, 32);
        assertThat(model.adapters().stream().filter(Adapter::isActive).map(Adapter::name)).containsExactly("madx");
    }

    @Test
    void eachMistakeIsOneClearError() {
        PeftModel m = withAdapters();
        m.add("lora", LoraConfig.defaults().withR(2));
        assertThatThrownBy(() -> Composition.add(m, "x", Composition.Stack.of("hou", "zzz"))).hasMessageContaining("no adapter named 'zzz'");
        assertThatThrownBy(() -> Composition.add(m, "x", Composition.Stack.of("hou", "lora")))
                .hasMessageContaining("'lora' (LORA) is not a bottleneck adapter");
        assertThatThrownBy(() -> Composition.add(m, "x", Composition.Stack.of("hou", "par")))
                .hasMessageContaining("'par' is a parallel adapter").hasMessageContaining("cannot be stacked");
        assertThatThrownBy(() -> new Composition.Average(List.of("hou", "pfe"), List.of(1.0))).hasMessageContaining("1 weights for 2 adapters");
        assertThatThrownBy(() -> new Composition.Average(List.of("hou", "pfe"), List.of(1.0, -1.0))).hasMessageContaining("sum to 0");
        assertThatThrownBy(() -> new Composition.Stack(List.of())).hasMessageContaining("at least one adapter");
        assertThatThrownBy(() -> Composition.add(m, "hou", Composition.Stack.of("pfe"))).hasMessageContaining("'hou' is already installed");
        Composition.add(m, "ens", Composition.Average.of("hou", "pfe"));
        assertThatThrownBy(() -> Composition.add(m, "x", Composition.Stack.of("hou", "ens")))
                .hasMessageContaining("'ens' (COMPOSITION) is not a bottleneck adapter");
        m.remove("pfe");
        assertThatThrownBy(() -> m.forward(BATCH, new ForwardContext(4, List.of("ens", "ens", "ens", "ens"), false, 0)))
                .hasMessageContaining("composition 'ens' runs adapter 'pfe', which was removed");
        assertThat(m.adapters().stream().map(Adapter::name)).containsExactly("hou", "par", "lora", "ens");
    }
}
