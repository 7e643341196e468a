package io.peft4j.core.model;

import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.EmbeddingHook;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HiddenHook;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.hooks.PrefixHook;
import io.peft4j.core.hooks.SublayerHook;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Backward through the frozen tiny models (GPT-2, BERT, Llama with grouped-query attention and rotary
 * positions), in float64, against central finite differences: one trainable tensor at every kind of hook site (so
 * every op's input-gradient path inside the models is exercised), with padding and a causal mask. The frozen weights get no gradient and stay bit-identical.
 */
class ModelGradientTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "bert-tiny", "llama-tiny"})
    void gradientsAtEverySiteKindMatchFiniteDifferences(String fixture) {
        Hooked h = hooked(fixture);
        Map<String, INDArray> before = snapshot(h.model());
        GradCheck.check(h.loss(), h.params(), 12, 1e-5);

        for (Tensor w : h.model().parameters().values()) assertThat(w.grad()).isNull();
        Map<String, INDArray> after = snapshot(h.model());
        before.forEach((k, v) -> assertThat(after.get(k)).as(k).isEqualTo(v));
    }

    /**
     * Inside a pass workspace (where training runs) saved activations, block outputs and gradients live in
     * other memory than outside one; the gradients must not change by a bit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "bert-tiny", "llama-tiny"})
    void gradientsInsideAPassWorkspaceEqualThoseOutside(String fixture) {
        Hooked h = hooked(fixture);
        h.loss().get().backward();
        List<INDArray> outside = new ArrayList<>();
        for (Tensor p : h.params()) {
            outside.add(p.grad().dup());
            p.zeroGrad();
        }
        for (int pass = 0; pass < 2; pass++) {     // the second pass reuses the memory the first one sized
            Workspaces.run(() -> {
                h.loss().get().backward();
                return new INDArray[0];
            });
            for (int i = 0; i < outside.size(); i++) {
                assertThat(h.params().get(i).grad()).as("parameter " + i).isEqualTo(outside.get(i));
                h.params().get(i).zeroGrad();
            }
        }
    }

    /** A tensor made inside one layer's block and read in a later layer is an error, not stale memory. */
    @Test
    void aTensorKeptAcrossBlocksIsRefused() {
        TransformerModel m = Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE);
        Tensor[] cached = new Tensor[1];
        m.hooks().add("encoder.layer.0.attention.self.value", new LinearHook() {
            public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                cached[0] = Ops.scale(y, 2.0);
                return y;
            }
        });
        m.hooks().add("encoder.layer.1.attention.self.value", new LinearHook() {
            public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                return Ops.add(y, cached[0]);
            }
        });
        Batch batch = Batch.of(new int[][]{{3, 17, 5}});
        assertThatThrownBy(() -> Workspaces.run(() -> new INDArray[]{m.forward(batch, ForwardContext.inference(1)).hidden().value()}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("after the block ended");
    }

    private record Hooked(TransformerModel model, List<Tensor> params, Supplier<Tensor> loss) {
    }

    /** The sites of one fixture the modules go on: a prefix, a LoRA'd projection (Llama: the rotated keys), an IA3'd feed-forward input, two sublayers. */
    private record Sites(String prefix, String lora, String ffnIn, String adapter, String attnOut) {
        static Sites of(String fixture) {
            return switch (fixture) {
                case "gpt2-tiny" -> new Sites("h.1.attn.prefix", "h.0.attn.c_proj", "h.1.mlp.c_proj", "h.0.mlp.output", "h.1.attn.output");
                case "bert-tiny" -> new Sites("encoder.layer.1.attention.self.prefix", "encoder.layer.0.attention.self.value",
                        "encoder.layer.1.output.dense", "encoder.layer.0.output", "encoder.layer.1.attention.output");
                default -> new Sites("layers.1.self_attn.prefix", "layers.0.self_attn.k_proj", "layers.1.mlp.down_proj", "layers.0.mlp.output",
                        "layers.1.self_attn.output");
            };
        }
    }

    /** A tiny model with one trainable tensor at every kind of hook site, and a scalar loss over its logits. */
    private static Hooked hooked(String fixture) {
        TransformerModel m = Models.load(Fixtures.dir(fixture), DataType.DOUBLE);
        Sites sites = Sites.of(fixture);
        long d = m.config().hidden();
        int kvHeads = m.config().keyValueHeads();
        long dh = m.config().headDim();
        List<Tensor> params = new ArrayList<>();

        Tensor prompt = GradCheck.param(1, 1, 2, d);          // 2 virtual tokens
        m.hooks().add(m.hooks().sites(SiteKind.EMBEDDINGS).get(0).name(), (EmbeddingHook) (e, ctx) ->
                Ops.concat(1, Ops.concat(0, repeat(prompt, ctx.batchSize())), e));
        Tensor pk = GradCheck.param(2, 1, kvHeads, 3, dh), pv = GradCheck.param(3, 1, kvHeads, 3, dh);
        m.hooks().add(sites.prefix(), new PrefixHook() {
            public int length(ForwardContext ctx) {
                return 3;
            }

            public KeyValue prefix(int layer, ForwardContext ctx) {
                return new KeyValue(Ops.concat(0, repeat(pk, ctx.batchSize())), Ops.concat(0, repeat(pv, ctx.batchSize())));
            }
        });
        HookSite loraSite = m.hooks().site(sites.lora());
        long in = loraSite.in(), out = loraSite.out();
        Tensor loraA = GradCheck.param(4, in, 2), loraB = GradCheck.param(5, 2, out);
        m.hooks().add(sites.lora(), new LinearHook() {
            public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                Tensor x2 = Ops.reshape(x, x.value().length() / in, in);
                Tensor delta = Ops.matmul(Ops.matmul(x2, loraA, false, false), loraB, false, false);
                return Ops.add(y, Ops.scale(Ops.reshape(delta, y.shape()), 0.5));
            }
        });
        Tensor ia3 = GradCheck.param(6, m.hooks().site(sites.ffnIn()).in());
        m.hooks().add(sites.ffnIn(), new LinearHook() {
            public Tensor input(Tensor x, ForwardContext ctx) {
                return Ops.mul(x, ia3);
            }
        });
        Tensor down = GradCheck.param(7, d, 4), up = GradCheck.param(8, 4, d);
        SublayerHook adapter = (x, h, norm, ctx) -> Ops.add(h, Ops.linear(Ops.relu(Ops.linear(norm.apply(Ops.add(x, h)), down, null)), up, null));
        m.hooks().add(sites.adapter(), adapter);
        Tensor attnScale = GradCheck.param(9, d);
        m.hooks().add(sites.attnOut(), (SublayerHook) (x, h, norm, ctx) -> Ops.mul(h, attnScale));
        Tensor headShift = GradCheck.param(10, d);
        m.hooks().add(m.hooks().sites(SiteKind.FINAL_HIDDEN).get(0).name(), (HiddenHook) (h, ctx) -> Ops.add(h, headShift));
        params.addAll(List.of(prompt, pk, pv, loraA, loraB, ia3, down, up, attnScale, headShift));

        int[][] ids = {{3, 17, 5, 9, 22}, {8, 1, 30, 2, 4}};
        int[][] mask = {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}};
        int[][] types = m.config().typeVocabSize() > 0 ? new int[][]{{0, 0, 1, 1, 1}, {0, 0, 0, 1, 1}} : null;
        Batch batch = new Batch(ids, types, mask);
        Supplier<Tensor> loss = () -> {
            ModelOutput o = m.forward(batch, new ForwardContext(2, null, true, 0));
            return GradCheck.project(m.lmLogits(o.hidden()), 99);
        };
        return new Hooked(m, params, loss);
    }

    private static Tensor[] repeat(Tensor t, int n) {
        Tensor[] r = new Tensor[n];
        java.util.Arrays.fill(r, t);
        return r;
    }

    private static Map<String, INDArray> snapshot(TransformerModel m) {
        Map<String, INDArray> s = new LinkedHashMap<>();
        m.parameters().forEach((k, v) -> s.put(k, v.value().dup()));
        return s;
    }
}
