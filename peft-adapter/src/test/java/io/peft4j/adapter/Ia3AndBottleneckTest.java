package io.peft4j.adapter;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class Ia3AndBottleneckTest {
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}});

    private static INDArray hidden(PeftModel m) {
        return m.forward(BATCH, ForwardContext.inference(2)).hidden().value().dup();
    }

    @Test
    void ia3CountsAndFileShapesFollowHf() {
        for (Path cfg : List.of(LoraTest.GPT2_CONFIG, LoraTest.BERT_CONFIG)) {
            PeftModel m = PeftModel.of(Models.describe(ModelConfig.load(cfg)));
            m.add("default", Ia3Config.defaults());
            assertThat(m.parameterCount().trainable()).as(cfg.toString()).isEqualTo(64_512);
        }
        PeftModel g = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        Map<String, INDArray> sd = g.add("default", Ia3Config.defaults()).stateDict();
        assertThat(sd.get("base_model.model.transformer.h.0.attn.c_attn.ia3_l").shape()).containsExactly(96, 1);
        assertThat(sd.get("base_model.model.transformer.h.1.mlp.c_proj.ia3_l").shape()).containsExactly(1, 128);
        assertThat(sd).hasSize(4);
    }

    @Test
    void ia3StartsAsIdentityAndItsGradientsMatchFiniteDifferences() {
        for (String fixture : List.of("gpt2-tiny", "bert-tiny")) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.DOUBLE));
            INDArray base = hidden(m);
            Adapter a = m.add("default", Ia3Config.defaults());
            assertThat(hidden(m).equals(base)).isTrue();
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(3, t.shape()).value().muli(0.2));
            GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(2)).hidden(), 9),
                    new ArrayList<>(a.parameters().values()), 8, 1e-5);
        }
    }

    @Test
    void bottleneckCountsFollowAdapterHub() {
        long d = 768;
        for (Architecture arch : Architecture.values()) {
            PeftModel m = PeftModel.of(Models.describe(ModelConfig.load(LoraTest.BERT_CONFIG)));
            BottleneckConfig cfg = BottleneckConfig.of(arch);
            m.add("default", cfg);
            long units = d / cfg.reductionFactor();
            long perSite = d * units + units + units * d + d;
            assertThat(m.parameterCount().trainable()).as(arch.name()).isEqualTo(12 * perSite * (arch == Architecture.HOUSLBY ? 2 : 1));
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void bottleneckStartsNearIdentityAndItsGradientsMatchFiniteDifferences(Architecture arch) {
        for (String fixture : List.of("gpt2-tiny", "bert-tiny")) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.DOUBLE));
            INDArray base = hidden(m);
            Adapter a = m.add("default", BottleneckConfig.of(arch).withReductionFactor(4), 2);
            assertThat(hidden(m).sub(base).amaxNumber().doubleValue()).as("near-identity init").isLessThan(0.05);
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(5, t.shape()).value().muli(0.3));
            GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(2)).hidden(), 9),
                    new ArrayList<>(a.parameters().values()), 6, 1e-5);
        }
    }

    @Test
    void bottleneckFilesUseAdapterHubNamingAndLoadBackUnderAnotherName(@TempDir Path tmp) {
        TransformerModel bert = Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
        PeftModel m = PeftModel.of(bert, "bert-tiny");
        Adapter a = m.add("sst", BottleneckConfig.of(Architecture.HOUSLBY).withReductionFactor(4), 1);
        for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(1, t.shape()).value().castTo(DataType.FLOAT).muli(0.1));
        INDArray before = hidden(m);
        m.save(tmp.resolve("a"));
        var keys = SafeTensors.readAll(tmp.resolve("a/pytorch_adapter.safetensors"), DataType.FLOAT).keySet();
        assertThat(keys).contains("bert.encoder.layer.0.output.adapters.sst.adapter_down.0.weight",
                "bert.encoder.layer.1.attention.output.adapters.sst.adapter_up.bias");
        var cfg = Json.read(tmp.resolve("a/adapter_config.json"));
        assertThat(cfg.get("config").get("mh_adapter").asBoolean()).isTrue();
        assertThat(cfg.get("config").get("reduction_factor").asInt()).isEqualTo(4);
        assertThat(cfg.get("name").asText()).isEqualTo("sst");
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        back.load(tmp.resolve("a"), "other");
        assertThat(hidden(back).equals(before)).isTrue();
    }

    /**
     * The config fields AdapterHub's own classes hold (adapters' configuration.py: SeqBnConfig, DoubleSeqBnConfig,
     * ParBnConfig, and BnConfig's defaults), so that AdapterHub reads our files as the same adapter; and the
     * initialisation each names (bert: N(0, 0.02²); mam_adapter: W_up = 0).
     */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void bottleneckConfigFieldsAndInitAreAdapterHubs(Architecture arch, @TempDir Path tmp) throws Exception {
        record Hub(boolean lnBefore, boolean mh, String f, int rf, String init, boolean parallel, double scaling) {
        }
        Hub hub = switch (arch) {
            case PFEIFFER -> new Hub(true, false, "relu", 16, "bert", false, 1.0);
            case HOUSLBY -> new Hub(false, true, "swish", 16, "bert", false, 1.0);
            case PARALLEL -> new Hub(false, false, "relu", 2, "mam_adapter", true, 4.0);
        };
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE), "bert-tiny");
        Adapter a = m.add("t", BottleneckConfig.of(arch), 1);
        m.save(tmp.resolve("a"));
        var c = Json.read(tmp.resolve("a/adapter_config.json")).get("config");
        assertThat(c.get("original_ln_before").asBoolean()).isEqualTo(hub.lnBefore());
        assertThat(c.get("original_ln_after").asBoolean()).isTrue();
        assertThat(c.get("residual_before_ln").asBoolean()).isTrue();
        assertThat(c.get("adapter_residual_before_ln").asBoolean()).isFalse();
        assertThat(c.get("ln_before").asBoolean()).isFalse();
        assertThat(c.get("ln_after").asBoolean()).isFalse();
        assertThat(c.get("mh_adapter").asBoolean()).isEqualTo(hub.mh());
        assertThat(c.get("output_adapter").asBoolean()).isTrue();
        assertThat(c.get("non_linearity").asText()).isEqualTo(hub.f());
        assertThat(c.get("reduction_factor").asInt()).isEqualTo(hub.rf());
        assertThat(c.get("init_weights").asText()).isEqualTo(hub.init());
        assertThat(c.get("is_parallel").asBoolean()).isEqualTo(hub.parallel());
        assertThat(c.get("scaling").asDouble()).isEqualTo(hub.scaling());
        assertThat(c.get("dropout").asDouble()).isEqualTo(0.0);
        double sum = 0, sq = 0;
        long n = 0;
        for (var e : a.parameters().entrySet()) {
            if (!e.getKey().endsWith("adapter_up.weight")) continue;
            for (double v : e.getValue().value().ravel().toDoubleVector()) {
                sum += v;
                sq += v * v;
                n++;
            }
        }
        double std = Math.sqrt(sq / n - (sum / n) * (sum / n));
        if (hub.init().equals("bert")) assertThat(std).as("W_up std over %d values", n).isBetween(0.018, 0.022);
        else assertThat(sq).as("mam_adapter: W_up = 0").isZero();
    }

    @Test
    void architecturesParseFromTheirShortAndAdapterHubNames() {
        assertThat(List.of("houlsby", "Double_Seq_Bn", "pfeiffer", "seq_bn", "PARALLEL", "par_bn").stream().map(Architecture::parse))
                .containsExactly(Architecture.HOUSLBY, Architecture.HOUSLBY, Architecture.PFEIFFER, Architecture.PFEIFFER, Architecture.PARALLEL, Architecture.PARALLEL);
        assertThat(Architecture.HOUSLBY.hubName()).isEqualTo("double_seq_bn");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Architecture.parse("compacter")).hasMessageContaining("'compacter'");
    }

    @Test
    void aBottleneckConfigAdapterHubDefinesOtherwiseIsRefusedNamingTheField(@TempDir Path tmp) throws Exception {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT), "bert-tiny");
        m.add("t", BottleneckConfig.of(Architecture.HOUSLBY), 1);
        m.save(tmp.resolve("a"));
        Path cfg = tmp.resolve("a/adapter_config.json");
        java.nio.file.Files.writeString(cfg, java.nio.file.Files.readString(cfg).replace("\"original_ln_before\" : false", "\"original_ln_before\" : true"));
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> back.load(tmp.resolve("a"), "t"))
                .hasMessageContaining("adapter_config.json").hasMessageContaining("original_ln_before").hasMessageContaining("double_seq_bn");
    }

    @Test
    void methodsOnDifferentSitesCombine() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        Adapter lora = m.add("lora", io.peft4j.adapter.lora.LoraConfig.defaults().withR(2), 1);
        Adapter bn = m.add("bn", BottleneckConfig.of(Architecture.PFEIFFER).withReductionFactor(4), 2);
        List<Tensor> params = new ArrayList<>();
        for (Adapter a : List.of(lora, bn)) {
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(4, t.shape()).value().muli(0.2));
            params.addAll(a.parameters().values());
        }
        assertThat(m.trainableParameters()).hasSize(params.size());
        GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(2)).hidden(), 3), params, 4, 1e-5);
    }

    @Test
    void rowTagsApplyIa3AndBottleneckAdaptersToTheirRowsOnly() {
        for (var cfg : List.<io.peft4j.core.peft.PeftConfig>of(Ia3Config.defaults(), BottleneckConfig.of(Architecture.HOUSLBY).withReductionFactor(4))) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE));
            INDArray base = hidden(m);
            Adapter a = m.add("task", cfg, 3);
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(6, t.shape()).value().muli(0.3));
            INDArray adapted = hidden(m);
            INDArray mixed = m.forward(BATCH, new ForwardContext(2, List.of("__base__", "task"), false, 0)).hidden().value();
            assertThat(mixed.slice(0).equalsWithEps(base.slice(0), 1e-12)).as(cfg.peftType()).isTrue();
            assertThat(mixed.slice(1).equalsWithEps(adapted.slice(1), 1e-12)).as(cfg.peftType()).isTrue();
            assertThat(adapted.slice(1).equalsWithEps(base.slice(1), 1e-6)).as(cfg.peftType()).isFalse();
        }
    }
}
