package io.peft4j.adapter;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Owner-aware hook dispatch with a thousand LoRA adapters on one frozen gpt2-tiny: a batch tagged for two of them
 * runs those two adapters' hooks only, and computes what a model with only those two computes.
 */
class HookDispatchTest {
    private static final int N = 1000;
    private static final String[] SITES = {"h.0.attn.c_attn", "h.1.attn.c_attn"};
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 4}, {8, 6, 2, 9}}, null, null);
    private static final List<String> TAGS = List.of("a417", "__base__", "a42");

    /** Counts the calls it gets, per owner, and changes nothing. */
    private static final class Counter implements LinearHook {
        private final String owner;
        private final Map<String, Integer> calls;

        Counter(String owner, Map<String, Integer> calls) {
            this.owner = owner;
            this.calls = calls;
        }

        @Override
        public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
            calls.merge(owner, 1, Integer::sum);
            return y;
        }
    }

    private static PeftModel gpt2() {
        return PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
    }

    /** LoRA r=1 on c_attn with B drawn from {@code seed} (B starts at zero, which would hide a wrong dispatch). */
    private static Adapter addLora(PeftModel m, String name, long seed) {
        Adapter a = m.add(name, LoraConfig.defaults().withR(1).withTargetModules("c_attn"), seed);
        Random r = new Random(seed);
        for (var e : a.parameters().entrySet()) {
            if (!e.getKey().endsWith("lora_B.weight")) continue;
            INDArray v = e.getValue().value();
            double[] d = new double[(int) v.length()];
            for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian() * 0.5;
            v.assign(Nd4j.create(d, v.shape(), 'c'));
        }
        return a;
    }

    private static INDArray hidden(PeftModel m, ForwardContext ctx) {
        return m.forward(BATCH, ctx).hidden().value().dup();
    }

    @Test
    void aBatchTaggedForTwoOfAThousandAdaptersRunsOnlyTheirHooks() {
        PeftModel m = gpt2();
        Hooks hooks = m.base().hooks();
        Map<String, Integer> calls = new HashMap<>();
        Map<String, List<LinearHook>> chosenHooks = new HashMap<>();
        for (int i = 0; i < N; i++) {
            String name = "a" + i;
            int before = hooks.at(SITES[0], LinearHook.class).size();
            addLora(m, name, i);
            if (name.equals("a42") || name.equals("a417")) chosenHooks.put(name, hooks.at(SITES[0], LinearHook.class).subList(before, before + 1));
            for (String s : SITES) hooks.add(s, new Counter(name, calls), name);     // a spy owned like the adapter's own hooks
        }
        for (String s : SITES) hooks.add(s, new Counter("unowned", calls));
        ForwardContext ctx = new ForwardContext(3, TAGS, false, 0);

        // what the model asks the hooks for at a site: the two adapters' LoRA layers and spies, and the unowned spy, in order
        List<LinearHook> dispatched = hooks.at(SITES[0], LinearHook.class, ctx);
        assertThat(dispatched).hasSize(5);
        assertThat(dispatched.get(0)).isSameAs(chosenHooks.get("a42").get(0));
        assertThat(dispatched.get(2)).isSameAs(chosenHooks.get("a417").get(0));
        assertThat(hooks.at(SITES[0], LinearHook.class)).hasSize(2 * N + 1);
        assertThat(hooks.at(SITES[0], LinearHook.class, ForwardContext.inference(3))).as("no row tags: every hook, as before").hasSize(2 * N + 1);

        INDArray mixed = hidden(m, ctx);
        assertThat(calls).containsOnlyKeys("a42", "a417", "unowned");
        assertThat(calls.values()).allMatch(c -> c == SITES.length);

        // the same rows on a model with only the two adapters (same seeds, so the same weights)
        PeftModel two = gpt2();
        addLora(two, "a42", 42);
        addLora(two, "a417", 417);
        INDArray expected = hidden(two, ctx);
        assertThat(mixed.sub(expected).amaxNumber().doubleValue()).isLessThan(1e-6);
        INDArray base = hidden(gpt2(), ForwardContext.inference(3));
        for (int r : new int[]{0, 2}) {
            assertThat(mixed.slice(r).sub(base.slice(r)).amaxNumber().doubleValue()).as("row %d is adapted", r).isGreaterThan(1e-3);
        }
        assertThat(mixed.slice(1).sub(base.slice(1)).amaxNumber().doubleValue()).as("the untagged-for-an-adapter row is the base's").isLessThan(1e-12);
    }

    /** With no row tags nothing changed: every active adapter applies, inactive ones check themselves. */
    @Test
    void untaggedPassesStillRunEveryActiveAdapter() {
        PeftModel m = gpt2();
        for (int i = 0; i < 3; i++) addLora(m, "a" + i, 100 + i);
        m.setActive("a0", "a2");
        PeftModel ref = gpt2();
        addLora(ref, "a0", 100);
        addLora(ref, "a2", 102);
        assertThat(hidden(m, ForwardContext.inference(3)).sub(hidden(ref, ForwardContext.inference(3))).amaxNumber().doubleValue()).isLessThan(1e-12);
    }
}
