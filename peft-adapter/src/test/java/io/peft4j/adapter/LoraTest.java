package io.peft4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoraTest {
    static final Path GPT2_CONFIG = Fixtures.resource("configs/gpt2/config.json");
    static final Path BERT_CONFIG = Fixtures.resource("configs/bert-base-uncased/config.json");

    static INDArray logits(PeftModel m, int[] ids) {
        var out = m.forward(Batch.of(ids), ForwardContext.inference(1));
        return m.base().lmLogits(out.hidden()).value().slice(0);
    }

    @Test
    void hfPeftFixtureReproducesItsLogits() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        m.load(Fixtures.dir("gpt2-tiny-lora"), "default");
        assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("lora_logits")), 1e-4);
    }

    @Test
    void savedAdapterHasHfKeysShapesAndFieldsAndLoadsBackIdentically(@TempDir Path tmp) throws Exception {
        int[] ids = Fixtures.ints(Fixtures.expected("gpt2-tiny").get("input_ids"));
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT), "gpt2-tiny");
        m.load(Fixtures.dir("gpt2-tiny-lora"), "default");
        Path out = tmp.resolve("saved");
        m.save(out);
        Map<String, INDArray> ours = SafeTensors.readAll(out.resolve("adapter_model.safetensors"), DataType.FLOAT);
        Map<String, INDArray> theirs = SafeTensors.readAll(Fixtures.dir("gpt2-tiny-lora").resolve("adapter_model.safetensors"), DataType.FLOAT);
        assertThat(ours.keySet()).isEqualTo(theirs.keySet());
        for (String k : theirs.keySet()) {
            assertThat(ours.get(k).shape()).as(k).isEqualTo(theirs.get(k).shape());
            assertThat(ours.get(k).equals(theirs.get(k))).as(k).isTrue();
        }
        JsonNode cfg = Json.read(out.resolve("adapter_config.json")), ref = Json.read(Fixtures.dir("gpt2-tiny-lora").resolve("adapter_config.json"));
        for (String f : List.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "fan_in_fan_out", "bias", "use_rslora", "use_dora", "task_type")) {
            assertThat(cfg.get(f)).as(f).isEqualTo(ref.get(f));
        }
        try (var st = SafeTensors.open(out.resolve("adapter_model.safetensors"))) {
            assertThat(st.metadata()).containsEntry("format", "pt");
        }
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        back.load(out, "default");
        assertThat(logits(back, ids).equals(logits(m, ids))).isTrue();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("saved");   // no temporary directories left
        }
    }

    @Test
    void freshAdapterStartsAsTheBaseModelAndCountsLikeHf() {
        TransformerModel base = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        int[] ids = {1, 5, 9, 13};
        INDArray plain = base.lmLogits(base.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0).dup();
        PeftModel m = PeftModel.of(base);
        m.add("default", LoraConfig.defaults().withR(4));
        assertThat(logits(m, ids).equals(plain)).isTrue();                 // B = 0
        // d = 32, L = 2, c_attn: r * (d + 3d) per layer
        assertThat(m.parameterCount().trainable()).isEqualTo(2L * 4 * (32 + 96));
    }

    @Test
    void parameterCountsFromConfigAloneMatchHfPeft() {
        PeftModel gpt2 = PeftModel.of(Models.describe(ModelConfig.load(GPT2_CONFIG)));
        gpt2.add("default", LoraConfig.defaults().withR(8).withTargetModules("c_attn"));
        assertThat(gpt2.parameterCount()).hasToString("trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364");
        PeftModel bert = PeftModel.of(Models.describe(ModelConfig.load(BERT_CONFIG)));
        bert.add("default", LoraConfig.defaults().withR(8));
        assertThat(bert.parameterCount().trainable()).isEqualTo(294_912);
        assertThat(bert.parameterCount().all()).isEqualTo(109_482_240L + 294_912);   // BertModel's 109,482,240
        PeftModel all = PeftModel.of(Models.describe(ModelConfig.load(GPT2_CONFIG)));
        all.add("default", LoraConfig.defaults().withR(8).withTargetModules("all-linear").withLayers(0, 11));
        long d = 768, f = 3072, r = 8;
        long perLayer = r * (d + 3 * d) + r * (d + d) + r * (d + f) + r * (f + d);
        assertThat(all.parameterCount().trainable()).isEqualTo(2 * perLayer);
    }

    @Test
    void gradientsOfAAndBMatchFiniteDifferencesOnBothArchitectures() {
        for (String fixture : List.of("gpt2-tiny", "bert-tiny")) {
            PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.DOUBLE));
            Adapter a = m.add("default", LoraConfig.defaults().withR(2).withAlpha(4).withTargetModules("all-linear"), 3);
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(7, t.shape()).value().muli(0.1));  // B != 0
            Batch batch = new Batch(new int[][]{{3, 7, 11, 2}, {5, 9, 1, 0}}, null, new int[][]{{1, 1, 1, 1}, {1, 1, 1, 0}});
            ForwardContext ctx = ForwardContext.inference(2);
            List<Tensor> params = new ArrayList<>(a.parameters().values());
            GradCheck.check(() -> GradCheck.project(m.forward(batch, ctx).hidden(), 5), params.subList(0, 6), 6, 1e-5);
        }
    }

    @Test
    void rowTagsApplyTheAdapterToItsRowsOnly() {
        TransformerModel base = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        PeftModel m = PeftModel.of(base);
        m.load(Fixtures.dir("gpt2-tiny-lora"), "lora");
        int[] ids = Fixtures.ints(Fixtures.expected("gpt2-tiny").get("input_ids"));
        var ctx = new ForwardContext(2, List.of("lora", "__base__"), false, 0);
        INDArray both = base.lmLogits(m.forward(Batch.of(ids, ids), ctx).hidden()).value();
        assertClose(both.slice(0), matrix(Fixtures.expected("gpt2-tiny").get("lora_logits")), 1e-4);
        assertClose(both.slice(1), matrix(Fixtures.expected("gpt2-tiny").get("logits")), 1e-4);
        m.setActive();                                                    // no adapter active: the base model
        assertClose(logits(m, ids), matrix(Fixtures.expected("gpt2-tiny").get("logits")), 1e-4);
    }

    @Test
    void rsLoraScalesByAlphaOverSqrtR() {
        int[] ids = {4, 8, 15, 16, 23};
        PeftModel rs = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        Adapter a = rs.add("default", LoraConfig.defaults().withR(4).withAlpha(6).withRslora(true), 1);
        PeftModel plain = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE));
        Adapter b = plain.add("default", LoraConfig.defaults().withR(4).withAlpha(6 * 2.0), 1);   // alpha/r = 12/4 = 6/√4
        for (var e : a.parameters().entrySet()) {
            e.getValue().value().assign(GradCheck.param(e.getKey().hashCode(), e.getValue().shape()).value());
            b.parameters().get(e.getKey()).value().assign(e.getValue().value());
        }
        assertClose(logits(rs, ids), logits(plain, ids).toDoubleMatrix(), 1e-10);
        TransformerModel base = Models.load(Fixtures.dir("gpt2-tiny"), DataType.DOUBLE);
        INDArray baseLogits = base.lmLogits(base.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0);
        assertThat(logits(rs, ids).equalsWithEps(baseLogits, 1e-3)).isFalse();
    }

    @Test
    void adapterForAnotherBaseOrBrokenFilesGiveClearErrors(@TempDir Path tmp) throws Exception {
        PeftModel bert = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        assertThatThrownBy(() -> bert.load(Fixtures.dir("gpt2-tiny-lora"), "x")).isInstanceOf(PeftException.class)
                .hasMessageContaining("adapter_config.json").hasMessageContaining("c_attn").hasMessageContaining("bert");

        Path copy = copyFixture("gpt2-tiny-lora", tmp.resolve("unknown"));
        Files.writeString(copy.resolve("adapter_config.json"), "{\"peft_type\": \"VERA\"}");
        PeftModel gpt2 = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        assertThatThrownBy(() -> gpt2.load(copy, "x")).hasMessageContaining("unknown peft_type 'VERA'").hasMessageContaining("LORA");

        Path shapes = copyFixture("gpt2-tiny-lora", tmp.resolve("shapes"));
        Map<String, INDArray> t = SafeTensors.readAll(shapes.resolve("adapter_model.safetensors"), DataType.FLOAT);
        String key = "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight";
        t.put(key, org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 4, 16));
        SafeTensors.write(shapes.resolve("adapter_model.safetensors"), t, Map.of("format", "pt"));
        assertThatThrownBy(() -> gpt2.load(shapes, "x")).hasMessageContaining(key).hasMessageContaining("[4, 16]").hasMessageContaining("[4, 32]");

        Path missing = copyFixture("gpt2-tiny-lora", tmp.resolve("missing"));
        Map<String, INDArray> m = SafeTensors.readAll(missing.resolve("adapter_model.safetensors"), DataType.FLOAT);
        m.remove("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight");
        m.put("base_model.model.transformer.h.7.attn.c_attn.lora_B.weight", org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 96, 4));
        SafeTensors.write(missing.resolve("adapter_model.safetensors"), m, Map.of("format", "pt"));
        assertThatThrownBy(() -> gpt2.load(missing, "x")).hasMessageContaining("unexpected tensor 'h.7.attn.c_attn.lora_B.weight'")
                .hasMessageContaining("2 layers");
        assertThat(gpt2.adapters()).isEmpty();                            // nothing half-installed
        assertThat(gpt2.base().hooks().at("h.0.attn.c_attn", io.peft4j.core.hooks.LinearHook.class)).isEmpty();

        Path noWeights = tmp.resolve("noweights");
        Files.createDirectories(noWeights);
        Files.copy(Fixtures.dir("gpt2-tiny-lora").resolve("adapter_config.json"), noWeights.resolve("adapter_config.json"));
        Files.writeString(noWeights.resolve("adapter_model.bin"), "pickle");
        assertThatThrownBy(() -> gpt2.load(noWeights, "x")).hasMessageContaining("adapter_model.safetensors").hasMessageContaining(".bin");
    }

    @Test
    void trainingLoraDrivesTheLossDownAndLeavesTheBaseBitIdentical() {
        TransformerModel base = Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
        Map<String, INDArray> before = new java.util.LinkedHashMap<>();
        base.parameters().forEach((k, v) -> before.put(k, v.value().dup()));
        PeftModel m = PeftModel.of(base);
        m.add("default", LoraConfig.defaults().withR(8).withAlpha(16).withDropout(0.05).withTargetModules("c_attn", "c_fc"), 1);
        assertThat(m.trainableParameters().keySet()).allMatch(k -> k.startsWith("adapter/default/") && k.contains(".lora_"));
        var r = new java.util.Random(3);
        List<io.peft4j.core.train.Example.Lm> data = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int start = 1 + r.nextInt(80);
            int[] prompt = {start, start + 1}, response = {40 + start % 2, 50, 60};   // loss on the response only, which depends on the prompt
            data.add(io.peft4j.core.train.Example.Lm.response(prompt, response));
        }
        var cfg = io.peft4j.core.train.TrainingConfig.defaults().withLearningRate(3e-2).withBatchSize(8, 1).withMaxSteps(200);
        var result = new io.peft4j.core.train.Trainer<>(m, io.peft4j.core.train.Objectives.causalLm(0), cfg).fit(data, null, null);
        double first = result.losses().get(0);
        double last = result.losses().subList(190, 200).stream().mapToDouble(d -> d).average().orElseThrow();
        // the tiny model's frozen tied LM head and final norm bound its logits, so the loss cannot reach 0
        // (full fine-tuning does, TrainerTest); halving it shows the adapter learns through the frozen base
        assertThat(first).as("initial loss").isGreaterThan(4.0);
        assertThat(last).as("final loss").isLessThan(first / 2);
        base.parameters().forEach((k, v) -> assertThat(v.value().equals(before.get(k))).as(k).isTrue());
    }

    @Test
    void bertAdaptersUseHfTaskModelKeysAndBareModelKeysLoadToo(@TempDir Path tmp) throws Exception {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT), "bert-tiny");
        Adapter a = m.add("default", LoraConfig.defaults().withR(2), 1);
        for (Tensor t : a.parameters().values()) t.value().assign(GradCheck.param(t.shape().length, t.shape()).value().castTo(DataType.FLOAT));
        Batch batch = Batch.of(new int[]{2, 11, 12, 3});
        INDArray before = m.forward(batch, ForwardContext.inference(1)).hidden().value().dup();
        m.save(tmp.resolve("a"));
        Map<String, INDArray> saved = SafeTensors.readAll(tmp.resolve("a/adapter_model.safetensors"), DataType.FLOAT);
        assertThat(saved).containsKeys("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
                "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight");
        assertThat(saved.get("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight").shape()).containsExactly(2, 32);
        assertThat(Json.read(tmp.resolve("a/adapter_config.json")).get("fan_in_fan_out").asBoolean()).isFalse();
        // the keys a bare BertModel (no "bert." prefix) gets from HF PEFT
        Map<String, INDArray> bare = new java.util.LinkedHashMap<>();
        saved.forEach((k, v) -> bare.put(k.replace("base_model.model.bert.", "base_model.model."), v));
        Path bareDir = Files.createDirectories(tmp.resolve("bare"));
        Files.copy(tmp.resolve("a/adapter_config.json"), bareDir.resolve("adapter_config.json"));
        SafeTensors.write(bareDir.resolve("adapter_model.safetensors"), bare, Map.of("format", "pt"));
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        back.load(bareDir, "default");
        assertThat(back.forward(batch, ForwardContext.inference(1)).hidden().value().equals(before)).isTrue();
    }

    static Path copyFixture(String name, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(Fixtures.dir(name))) {
            for (Path p : files.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }

    /** Per-module ranks or alphas (HF PEFT's rank_pattern / alpha_pattern) are refused: read as one scaling, a merge would write wrong weights. */
    @Test
    void perModulePatternsAreRefusedNamingTheField(@TempDir Path tmp) {
        var m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        for (String field : List.of("alpha_pattern", "rank_pattern")) {
            Path dir = Fixtures.adapterWith("gpt2-tiny-lora", tmp, field, java.util.Map.of("c_attn", 4));
            assertThatThrownBy(() -> m.load(dir, "x")).isInstanceOf(PeftException.class)
                    .hasMessageStartingWith(dir.resolve("adapter_config.json").toString()).hasMessageContaining("field '" + field + "'");
        }
        Path empty = Fixtures.adapterWith("gpt2-tiny-lora", tmp, "alpha_pattern", java.util.Map.of());
        m.load(empty, "ok");     // HF PEFT writes empty patterns by default
        assertThat(m.adapters()).hasSize(1);
    }

    /** A size field the weights file does not back is refused before anything is allocated from it (issue 14: this allocated gigabytes). */
    @Test
    void aSizeFieldTheWeightsDoNotBackIsRefusedBeforeAllocating(@TempDir Path tmp) {
        Fixtures.assertUnbackedSizeRefused("gpt2-tiny-lora", tmp, "r", 16777216);
    }
}
