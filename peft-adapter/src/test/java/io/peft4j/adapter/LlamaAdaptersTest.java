package io.peft4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.bottleneck.BottleneckConfig.Architecture;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.PerRowCheck;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.peft4j.core.Fixtures.assertClose;
import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * LoRA, IA3 and bottleneck adapters on the Llama family: HF PEFT's LoRA fixture on all seven linear layers, the
 * architecture's defaults, training, mixed-adapter batches, gradients, and HF PEFT's parameter counts on real
 * Llama and Qwen2 configs.
 */
class LlamaAdaptersTest {
    static final Path LLAMA_32_1B = Fixtures.resource("configs/llama-3.2-1b/config.json");
    static final Path TINYLLAMA = Fixtures.resource("configs/tinyllama-1.1b/config.json");
    static final Path QWEN25_05B = Fixtures.resource("configs/qwen2.5-0.5b/config.json");
    private static final Batch BATCH = new Batch(new int[][]{{3, 7, 11, 2, 9}, {5, 9, 1, 100, 0}, {17, 4, 8, 6, 33}}, null,
            new int[][]{{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}});

    private static INDArray logits(PeftModel m, int[] ids) {
        return m.base().lmLogits(m.forward(Batch.of(ids), ForwardContext.inference(1)).hidden()).value().slice(0);
    }

    @Test
    void hfPeftLoraOnAllSevenLinearLayersReproducesItsLogitsAndSavesTheSameFiles(@TempDir Path tmp) {
        JsonNode exp = Fixtures.expected("llama-tiny");
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT), "llama-tiny");
        m.load(Fixtures.dir("llama-tiny-lora"), "default");
        assertClose(logits(m, Fixtures.ints(exp.get("input_ids"))), matrix(exp.get("lora_logits")), 1e-4);
        m.save(tmp.resolve("saved"));
        Map<String, INDArray> ours = SafeTensors.readAll(tmp.resolve("saved/adapter_model.safetensors"), DataType.FLOAT);
        Map<String, INDArray> theirs = SafeTensors.readAll(Fixtures.dir("llama-tiny-lora").resolve("adapter_model.safetensors"), DataType.FLOAT);
        assertThat(ours.keySet()).isEqualTo(theirs.keySet());
        theirs.forEach((k, v) -> assertThat(ours.get(k).equals(v)).as(k).isTrue());
        JsonNode cfg = Json.read(tmp.resolve("saved/adapter_config.json")), ref = Json.read(Fixtures.dir("llama-tiny-lora").resolve("adapter_config.json"));
        for (String f : List.of("peft_type", "task_type", "r", "lora_alpha", "target_modules", "fan_in_fan_out", "bias", "use_rslora")) {
            assertThat(cfg.get(f)).as(f).isEqualTo(ref.get(f));
        }
    }

    /** With no targets named, each method takes HF PEFT's table entry for the family (LoRA q,v; IA3 k,v,down on Llama, q,v,down on Qwen2). */
    @Test
    void defaultsComeFromTheArchitecture(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT), "llama-tiny");
        Map<String, INDArray> lora = m.add("lora", LoraConfig.defaults().withR(2)).stateDict();
        assertThat(lora.keySet()).containsExactlyInAnyOrder(
                "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
                "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
                "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
        assertThat(lora.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight").shape()).containsExactly(16, 2);   // G·dh = 16
        Map<String, INDArray> ia3 = m.add("ia3", Ia3Config.defaults()).stateDict();
        assertThat(ia3.get("base_model.model.model.layers.0.self_attn.k_proj.ia3_l").shape()).containsExactly(16, 1);
        assertThat(ia3.get("base_model.model.model.layers.1.mlp.down_proj.ia3_l").shape()).containsExactly(1, 64);      // feed-forward: the input
        assertThat(ia3).hasSize(6);
        PeftModel qwen = PeftModel.of(Models.load(Fixtures.dir("qwen2-tiny"), DataType.FLOAT));
        assertThat(qwen.add("ia3", Ia3Config.defaults()).stateDict()).containsKey("base_model.model.model.layers.0.self_attn.q_proj.ia3_l")
                .doesNotContainKey("base_model.model.model.layers.0.self_attn.k_proj.ia3_l");
        m.remove("ia3");
        m.save(tmp.resolve("lora"));
        JsonNode cfg = Json.read(tmp.resolve("lora/adapter_config.json"));
        assertThat(cfg.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(cfg.get("fan_in_fan_out").asBoolean()).isFalse();
        assertThat(cfg.get("target_modules")).hasToString("[\"q_proj\",\"v_proj\"]");
    }

    @Test
    void bottleneckFilesUseAdapterHubsLlamaNamesAndLoadBack(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT), "llama-tiny");
        Adapter a = m.add("sst", BottleneckConfig.of(Architecture.HOUSLBY).withReductionFactor(4), 1);
        for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(1, t.shape()).value().castTo(DataType.FLOAT).muli(0.1));
        INDArray before = m.forward(BATCH, ForwardContext.inference(3)).hidden().value().dup();
        m.save(tmp.resolve("a"));
        var keys = SafeTensors.readAll(tmp.resolve("a/pytorch_adapter.safetensors"), DataType.FLOAT).keySet();
        assertThat(keys).contains("model.layers.0.attention_adapters.adapters.sst.adapter_down.0.weight",
                "model.layers.1.output_adapters.adapters.sst.adapter_up.bias");
        JsonNode cfg = Json.read(tmp.resolve("a/adapter_config.json"));
        assertThat(cfg.get("model_class").asText()).isEqualTo("LlamaAdapterModel");
        assertThat(cfg.get("model_type").asText()).isEqualTo("llama");
        PeftModel back = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT));
        back.load(tmp.resolve("a"), "other");
        assertThat(back.forward(BATCH, ForwardContext.inference(3)).hidden().value().equals(before)).isTrue();
    }

    private static PeftConfig config(String method) {
        return switch (method) {
            case "lora" -> LoraConfig.defaults().withR(4).withAlpha(8).withTargetModules("all-linear");
            case "ia3" -> Ia3Config.defaults();
            case "houlsby" -> BottleneckConfig.of(Architecture.HOUSLBY).withReductionFactor(4);
            case "pfeiffer" -> BottleneckConfig.of(Architecture.PFEIFFER).withReductionFactor(4);
            default -> BottleneckConfig.of(Architecture.PARALLEL);
        };
    }

    /**
     * Each method learns a response that depends on the prompt (loss on the response only) through the frozen
     * Llama, whose weights stay bit-identical.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lora", "ia3", "houlsby", "pfeiffer", "parallel"})
    void everyMethodTrainsOnLlama(String method) {
        TransformerModel base = Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        Map<String, INDArray> before = new LinkedHashMap<>();
        base.parameters().forEach((k, v) -> before.put(k, v.value().dup()));
        PeftModel m = PeftModel.of(base);
        m.add("default", config(method), 1);
        Random r = new Random(3);
        List<Example.Lm> data = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int start = 3 + r.nextInt(100);
            data.add(Example.Lm.response(new int[]{start, start + 1}, new int[]{40 + start % 2, 50, 60}));
        }
        var cfg = TrainingConfig.defaults().withLearningRate(method.equals("ia3") ? 1e-1 : 2e-2).withBatchSize(8, 1).withMaxSteps(60);
        var result = new Trainer<>(m, Objectives.causalLm(0), cfg).fit(data, null, null);
        double first = result.losses().subList(0, 4).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = result.losses().subList(56, 60).stream().mapToDouble(d -> d).average().orElseThrow();
        org.slf4j.LoggerFactory.getLogger(LlamaAdaptersTest.class).info("{} on llama-tiny: loss {} -> {}", method, first, last);
        assertThat(last).as(method + ": loss %.3f -> %.3f", first, last).isLessThan(0.8 * first);
        base.parameters().forEach((k, v) -> assertThat(v.value().equals(before.get(k))).as(k).isTrue());
    }

    /** A batch with rows for LoRA, IA3, a bottleneck adapter and the base: each row computes what it computes alone. */
    @Test
    void mixedAdapterBatchesEqualTheirRowsAlone() {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
        for (String name : List.of("lora", "ia3", "houlsby")) {
            Adapter a = m.add(name, config(name), 2);
            for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(name.hashCode(), t.shape()).value().muli(0.2));
        }
        Batch four = new Batch(new int[][]{{3, 7, 11, 2, 9}, {5, 9, 1, 100, 0}, {17, 4, 8, 6, 33}, {8, 8, 2, 1, 0}}, null,
                new int[][]{{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}});
        List<String> tags = List.of("lora", "ia3", "houlsby", "__base__");
        PerRowCheck.rowsMatchSeparateRuns(m, four, tags, 1e-10);
        for (String name : List.of("lora", "ia3", "houlsby")) PerRowCheck.gradientsComeFromTheAdaptersRowsOnly(m, m.adapter(name), four, tags, 1e-10);
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "ia3", "houlsby", "pfeiffer", "parallel"})
    void gradientsMatchFiniteDifferencesOnLlama(String method) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("llama-tiny"), DataType.DOUBLE));
        Adapter a = m.add("default", method.equals("parallel") ? BottleneckConfig.of(Architecture.PARALLEL).withReductionFactor(8) : config(method), 3);
        for (Tensor t : a.parameters().values()) t.value().addi(GradCheck.param(7, t.shape()).value().muli(0.2));
        List<Tensor> params = new ArrayList<>(a.parameters().values());
        GradCheck.check(() -> GradCheck.project(m.forward(BATCH, ForwardContext.inference(3)).hidden(), 5), params, 4, 1e-5);
    }

    /**
     * HF PEFT's counts on published configs (L layers, d hidden, q = H·dh, kv = G·dh, f FFN width), no weights loaded:
     * <ul>
     *   <li>Llama 3.2 1B (L 16, d 2048, q 2048, kv 512, f 8192, tied; 1,235,814,400 parameters): LoRA r=8 on q,v
     *       {@code L·r·(d + q) + L·r·(d + kv)} = 524,288 + 327,680 = 851,968; IA3 defaults {@code L·(kv + kv + f)} = 147,456;
     *       Pfeiffer rf 16 {@code L·(d·d/16 + d/16 + d/16·d + d)} = 8,423,424, Houlsby twice that, parallel rf 2 67,158,016;</li>
     *   <li>TinyLlama 1.1B (L 22, d 2048, q 2048, kv 256, f 5632, untied; 1,100,048,384): LoRA r=8 on q,v
     *       = 720,896 + 405,504 = 1,126,400; all-linear r=8 {@code L·r·((d+q) + 2(d+kv) + (q+d) + 2(d+f) + (f+d))} = 6,307,840;</li>
     *   <li>Qwen2.5 0.5B (L 24, d 896, q 896, kv 128, q/k/v biases, tied; 494,032,768): LoRA r=8 on q,v
     *       {@code 24·8·(1792 + 1024)} = 540,672; IA3 defaults (q, v, down) {@code L·(q + kv + f)} = 24·(896 + 128 + 4864) = 141,312.</li>
     * </ul>
     */
    @Test
    void parameterCountsOnLlamaConfigsMatchHfPeft() {
        assertThat(count(LLAMA_32_1B, null).all()).isEqualTo(1_235_814_400L);
        assertThat(count(LLAMA_32_1B, LoraConfig.defaults().withR(8))).hasToString("trainable params: 851,968 || all params: 1,236,666,368 || trainable%: 0.0689");
        assertThat(count(LLAMA_32_1B, Ia3Config.defaults()).trainable()).isEqualTo(147_456);
        assertThat(count(LLAMA_32_1B, BottleneckConfig.of(Architecture.PFEIFFER)).trainable()).isEqualTo(8_423_424);
        assertThat(count(LLAMA_32_1B, BottleneckConfig.of(Architecture.HOUSLBY)).trainable()).isEqualTo(2 * 8_423_424);
        assertThat(count(LLAMA_32_1B, BottleneckConfig.of(Architecture.PARALLEL)).trainable()).isEqualTo(67_158_016);
        assertThat(count(TINYLLAMA, null).all()).isEqualTo(1_100_048_384L);
        assertThat(count(TINYLLAMA, LoraConfig.defaults().withR(8))).hasToString("trainable params: 1,126,400 || all params: 1,101,174,784 || trainable%: 0.1023");
        assertThat(count(TINYLLAMA, LoraConfig.defaults().withR(8).withTargetModules("all-linear")).trainable()).isEqualTo(6_307_840);
        assertThat(count(QWEN25_05B, null).all()).isEqualTo(494_032_768L);
        assertThat(count(QWEN25_05B, LoraConfig.defaults().withR(8)).trainable()).isEqualTo(540_672);
        assertThat(count(QWEN25_05B, Ia3Config.defaults()).trainable()).isEqualTo(141_312);
    }

    private static io.peft4j.core.peft.ParameterCount count(Path config, PeftConfig method) {
        PeftModel m = PeftModel.of(Models.describe(ModelConfig.load(config)));
        if (method == null) return m.parameterCount();
        m.add("default", method);
        return m.parameterCount();
    }
}
