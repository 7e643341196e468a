package io.peft4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.Merging;
import io.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.peft4j.adapter.LoraTest.logits;
import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Folding LoRA and IA3 into the base weights: merged checkpoints, in-place merge and unmerge, adapters that cannot merge. */
class MergeTest {
    private static final JsonNode EXP = Fixtures.expected("gpt2-tiny");
    private static final int[] IDS = Fixtures.ints(EXP.get("input_ids"));

    private static PeftModel gpt2(DataType type) {
        return PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), type), "gpt2-tiny");
    }

    private static TransformerModel reload(Path dir) {
        return Models.load(dir, DataType.FLOAT);
    }

    private static INDArray baseLogits(TransformerModel m) {
        return logits(PeftModel.of(m), IDS);
    }

    /** The HF PEFT LoRA fixture merged and written: the checkpoint reproduces the adapter's logits and the reference's. */
    @Test
    void mergedLoraCheckpointHasTheAdaptersLogits(@TempDir Path tmp) throws Exception {
        PeftModel m = gpt2(DataType.FLOAT);
        m.load(Fixtures.dir("gpt2-tiny-lora"), "default");
        INDArray withAdapter = logits(m, IDS);
        Path out = tmp.resolve("merged");
        TransformerModel base = Merging.writeMerged(m, null, out);
        assertThat(m.adapters()).isEmpty();
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("config.json", "model.safetensors");
        }
        INDArray merged = baseLogits(reload(out));
        assertThat(merged.sub(withAdapter).amaxNumber().doubleValue()).isLessThan(1e-5);
        assertClose(merged, matrix(EXP.get("lora_logits")), 1e-4);        // the independent reference's adapter logits
        assertClose(baseLogits(base), matrix(EXP.get("lora_logits")), 1e-4);   // the returned base computes the same
        // same keys and shapes as the base checkpoint: a plain Hugging Face GPT-2 checkpoint
        Map<String, INDArray> orig = SafeTensors.readAll(Fixtures.dir("gpt2-tiny").resolve("model.safetensors"), DataType.DOUBLE);
        Map<String, INDArray> written = SafeTensors.readAll(out.resolve("model.safetensors"), DataType.DOUBLE);
        assertThat(written.keySet()).isEqualTo(orig.keySet());
        for (String k : orig.keySet()) assertThat(written.get(k).shape()).as(k).isEqualTo(orig.get(k).shape());
        assertThat(Json.read(out.resolve("config.json")).get("model_type").asText()).isEqualTo("gpt2");
    }

    /**
     * The merged c_attn weights against the formula computed by hand from the files: GPT-2's Conv1D weight is stored
     * {@code [in, out]}, HF PEFT's lora_B {@code [out, r]} and lora_A {@code [r, in]}, so W' = W + (alpha/r)·(B·A)ᵀ.
     */
    @Test
    void mergedWeightIsBasePlusScaledBaTransposed(@TempDir Path tmp) {
        PeftModel m = gpt2(DataType.DOUBLE);
        m.load(Fixtures.dir("gpt2-tiny-lora"), "default");
        Merging.writeMerged(m, null, tmp.resolve("merged"));
        Map<String, INDArray> base = SafeTensors.readAll(Fixtures.dir("gpt2-tiny").resolve("model.safetensors"), DataType.DOUBLE);
        Map<String, INDArray> lora = SafeTensors.readAll(Fixtures.dir("gpt2-tiny-lora").resolve("adapter_model.safetensors"), DataType.DOUBLE);
        Map<String, INDArray> merged = SafeTensors.readAll(tmp.resolve("merged/model.safetensors"), DataType.DOUBLE);
        double s = 8.0 / 4;
        for (int layer = 0; layer < 2; layer++) {
            String key = "h." + layer + ".attn.c_attn.weight";
            double[][] w = base.get(key).toDoubleMatrix();
            double[][] a = lora.get("base_model.model.transformer.h." + layer + ".attn.c_attn.lora_A.weight").toDoubleMatrix();
            double[][] b = lora.get("base_model.model.transformer.h." + layer + ".attn.c_attn.lora_B.weight").toDoubleMatrix();
            double[][] got = merged.get(key).toDoubleMatrix();
            assertThat(w.length).isEqualTo(32);
            assertThat(w[0].length).isEqualTo(96);
            double worst = 0;
            for (int i = 0; i < 32; i++) {
                for (int o = 0; o < 96; o++) {
                    double ba = 0;
                    for (int k = 0; k < 4; k++) ba += b[o][k] * a[k][i];
                    worst = Math.max(worst, Math.abs(got[i][o] - (w[i][o] + s * ba)));
                }
            }
            assertThat(worst).as(key).isLessThan(1e-12);
            assertThat(merged.get("h." + layer + ".attn.c_proj.weight").equals(base.get("h." + layer + ".attn.c_proj.weight"))).isTrue();
        }
    }

    /** IA3 with random vectors (output scaling on c_attn, input scaling on the feed-forward mlp.c_proj) merges to the same logits. */
    @Test
    void mergedIa3CheckpointHasTheAdaptersLogits(@TempDir Path tmp) {
        PeftModel m = gpt2(DataType.FLOAT);
        Adapter a = m.add("default", Ia3Config.defaults());
        randomise(a, 7);
        INDArray withAdapter = logits(m, IDS);
        assertThat(withAdapter.sub(baseLogits(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT))).amaxNumber().doubleValue())
                .as("the vectors change the model").isGreaterThan(1e-2);
        Path out = tmp.resolve("merged");
        Merging.writeMerged(m, null, out);
        assertThat(baseLogits(reload(out)).sub(withAdapter).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    /** IA3's merge by hand: c_attn's columns and bias times l; mlp.c_proj's rows times l and its bias unchanged. */
    @Test
    void ia3MergeScalesColumnsAndBiasOrRows(@TempDir Path tmp) {
        PeftModel m = gpt2(DataType.DOUBLE);
        Adapter a = m.add("default", Ia3Config.defaults());
        randomise(a, 3);
        Map<String, INDArray> l = new HashMap<>();
        a.parameters().forEach((k, v) -> l.put(k, v.value().dup()));
        Merging.writeMerged(m, null, tmp.resolve("merged"));
        Map<String, INDArray> base = SafeTensors.readAll(Fixtures.dir("gpt2-tiny").resolve("model.safetensors"), DataType.DOUBLE);
        Map<String, INDArray> merged = SafeTensors.readAll(tmp.resolve("merged/model.safetensors"), DataType.DOUBLE);
        double[] lq = l.get("h.1.attn.c_attn.ia3_l").data().asDouble();          // [96, 1]
        double[][] w = base.get("h.1.attn.c_attn.weight").toDoubleMatrix(), got = merged.get("h.1.attn.c_attn.weight").toDoubleMatrix();
        double[] bias = base.get("h.1.attn.c_attn.bias").toDoubleVector(), gotBias = merged.get("h.1.attn.c_attn.bias").toDoubleVector();
        for (int o = 0; o < 96; o++) {
            assertThat(gotBias[o]).isCloseTo(bias[o] * lq[o], org.assertj.core.api.Assertions.within(1e-14));
            for (int i = 0; i < 32; i++) assertThat(got[i][o]).isCloseTo(w[i][o] * lq[o], org.assertj.core.api.Assertions.within(1e-14));
        }
        double[] lf = l.get("h.1.mlp.c_proj.ia3_l").data().asDouble();           // [1, 128]
        double[][] wf = base.get("h.1.mlp.c_proj.weight").toDoubleMatrix(), gotF = merged.get("h.1.mlp.c_proj.weight").toDoubleMatrix();
        assertThat(wf.length).isEqualTo(128);
        for (int i = 0; i < 128; i++) for (int o = 0; o < 32; o++) assertThat(gotF[i][o]).isCloseTo(wf[i][o] * lf[i], org.assertj.core.api.Assertions.within(1e-14));
        assertThat(merged.get("h.1.mlp.c_proj.bias").equals(base.get("h.1.mlp.c_proj.bias"))).isTrue();
    }

    /**
     * In place: merged, the model (adapter still installed, now applying to no rows) computes the adapter's function;
     * unmerged, the adapter applies again and the weights return to the base's up to rounding.
     */
    @Test
    void mergeThenUnmergeRoundTrips() {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            for (String method : List.of("lora", "ia3")) {
                PeftModel m = gpt2(type);
                if (method.equals("lora")) {
                    m.load(Fixtures.dir("gpt2-tiny-lora"), "default");
                } else {
                    randomise(m.add("default", Ia3Config.defaults()), 11);
                }
                Map<String, INDArray> before = new HashMap<>();
                m.base().parameters().forEach((k, v) -> before.put(k, v.value().dup()));
                INDArray withAdapter = logits(m, IDS);
                Merging.merge(m, "default");
                assertThat(m.adapter("default").isMerged()).isTrue();
                assertThat(logits(m, IDS).sub(withAdapter).amaxNumber().doubleValue()).as(method + " " + type).isLessThan(type == DataType.FLOAT ? 1e-5 : 1e-12);
                assertThatThrownBy(() -> Merging.merge(m, "default")).hasMessageContaining("merged already");
                Merging.unmerge(m, "default");
                assertThat(logits(m, IDS).sub(withAdapter).amaxNumber().doubleValue()).isLessThan(type == DataType.FLOAT ? 1e-5 : 1e-12);
                double worst = 0, rel = 0;
                for (var e : before.entrySet()) {
                    INDArray now = m.base().parameters().get(e.getKey()).value();
                    double d = now.sub(e.getValue()).amaxNumber().doubleValue();
                    worst = Math.max(worst, d);
                    rel = Math.max(rel, d / Math.max(1e-30, e.getValue().amaxNumber().doubleValue()));
                }
                org.slf4j.LoggerFactory.getLogger(MergeTest.class).info("round trip {} {}: max abs error {}, relative to max |W| {}", method, type, worst, rel);
                // float32: a few ulps of the weights' magnitude (about 1e-7 relative); float64 about 1e-16
                assertThat(rel).as(method + " " + type).isLessThan(type == DataType.FLOAT ? 1e-6 : 1e-14);
            }
        }
    }

    @Test
    void adaptersThatAddModulesCannotMergeAndNothingChanges() {
        PeftModel m = gpt2(DataType.FLOAT);
        m.load(Fixtures.dir("gpt2-tiny-lora"), "lora");
        m.add("bottleneck", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
        INDArray w = m.base().parameters().get("h.0.attn.c_attn.weight").value().dup();
        assertThatThrownBy(() -> Merging.mergeAndUnload(m)).isInstanceOf(PeftException.class)
                .hasMessageContaining("adapter 'bottleneck' (BOTTLENECK)").hasMessageContaining("cannot be merged");
        assertThat(m.adapters()).hasSize(2);
        assertThat(m.base().parameters().get("h.0.attn.c_attn.weight").value().equals(w)).isTrue();
        assertThatThrownBy(() -> Merging.unmerge(m, "lora")).hasMessageContaining("not merged");
    }

    /** A base kept in BF16 (FP32 compute) is refused before any weight changes: the change would round away. */
    @Test
    void aBaseStoredIn16BitsIsRefusedAndNothingChanges() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), io.peft4j.core.model.Precision.storedAs(DataType.BFLOAT16)));
        m.load(Fixtures.dir("llama-tiny-lora"), "lora");
        INDArray w = m.base().parameters().get("layers.0.self_attn.q_proj.weight").value().dup();
        assertThatThrownBy(() -> Merging.merge(m, "lora")).isInstanceOf(PeftException.class).hasMessageContaining("BFLOAT16")
                .hasMessageContaining("merging needs its weights in FLOAT");
        assertThat(m.adapter("lora").isMerged()).isFalse();
        assertThat(m.base().parameters().get("layers.0.self_attn.q_proj.weight").value().equals(w)).isTrue();
    }

    /** Vectors near 1 (1 ± 0.5), seeded. */
    private static void randomise(Adapter a, long seed) {
        Random r = new Random(seed);
        for (var t : a.parameters().values()) {
            INDArray v = t.value();
            double[] d = new double[(int) v.length()];
            for (int i = 0; i < d.length; i++) d[i] = 0.5 + r.nextDouble();
            v.assign(Nd4j.create(d, v.shape(), 'c').castTo(v.dataType()));
        }
    }
}
