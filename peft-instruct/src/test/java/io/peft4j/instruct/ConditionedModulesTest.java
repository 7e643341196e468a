package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.instruct.encoding.InstructionBatch;
import io.peft4j.instruct.encoding.InstructionEncoder;
import io.peft4j.instruct.encoding.InstructionEncoding;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.hyper.HyperLoraMethod;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The instruction prefix and the LoRA hypernetwork on the tiny BERT in float64: gradients of every parameter against
 * central finite differences, each row of a batch that mixes instructions (and a row with none) against the row alone,
 * and the hypernetwork's exported LoRA adapter loaded back with {@link PeftModel#load} computing what the hypernetwork
 * computes.
 */
class ConditionedModulesTest {
    private record Setup(TransformerModel base, PeftModel model, InstructionEncoding e1, InstructionEncoding e2, Batch batch) {
    }

    private static Setup setup(Path tmp) throws Exception {
        Path dir = TinyInstruct.model(tmp);
        TransformerModel base = Models.load(dir, DataType.DOUBLE);
        Tokenizer tok = Tokenizers.load(dir);
        InstructionEncoding e1 = InstructionEncoder.encode(base, tok, "is the film good ?");
        InstructionEncoding e2 = InstructionEncoder.encode(base, tok, "read what is said of the film . say yes if it was good , no if it was bad .");
        Batch batch = Batch.of(new int[]{2, 5, 7, 60, 4, 3}, new int[]{2, 6, 7, 61, 4, 3}, new int[]{2, 20, 14, 62, 4, 3});
        return new Setup(base, PeftModel.of(base, "bert-tiny"), e1, e2, batch);
    }

    private static ForwardContext ctx(int rows, List<InstructionEncoding> instructions, int... rowIndex) {
        return new ForwardContext(rows, null, false, 0).with(InstructionBatch.class, new InstructionBatch(instructions, rowIndex));
    }

    /** Every parameter of {@code a} drawn from N(0, scale²): away from the zero start of generated B, so that every path carries a gradient. */
    private static void randomize(Adapter a, double scale) {
        Nd4j.getRandom().setSeed(99);
        for (Tensor t : a.parameters().values()) t.value().assign(Nd4j.randn(DataType.DOUBLE, t.shape()).muli(scale));
    }

    private static void gradientsMatchFiniteDifferences(Setup s, Adapter a) {
        ForwardContext c = ctx(3, List.of(s.e1(), s.e2()), 1, -1, 0);
        Supplier<Tensor> loss = () -> GradCheck.project(s.model().forward(s.batch(), c).hidden(), 11);
        GradCheck.check(loss, new ArrayList<>(a.parameters().values()), 10, 1e-5);
        // every parameter carries a gradient large enough for the comparison to mean something
        for (var e : a.parameters().entrySet()) assertThat(e.getValue().grad().amaxNumber().doubleValue()).as(e.getKey()).isGreaterThan(1e-3);
    }

    @Test
    void prefixGradientsMatchFiniteDifferences(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        Adapter a = s.model().add("p", new InstructionPrefixConfig(3, 5), 7);
        assertThat(a.parameterCount()).isEqualTo(new InstructionPrefixConfig(3, 5).parameterCount(2, 32)).isEqualTo(3 * 32 + 5 * 32 + 5 + 128 * 5 + 128);
        gradientsMatchFiniteDifferences(s, a);
    }

    /**
     * On Llama with grouped-query attention the prefix is as wide as the key/value heads (2 of 8): its parameters are
     * {@code P·d + k·d + k + 2L·16·k + 2L·16}, and their gradients match finite differences, rows as alone.
     */
    @Test
    void prefixOnLlamaIsSizedByTheKeyValueHeads() {
        TransformerModel base = Models.load(io.peft4j.core.Fixtures.dir("llama-tiny"), DataType.DOUBLE);
        PeftModel model = PeftModel.of(base, "llama-tiny");
        Nd4j.getRandom().setSeed(5);
        INDArray t1 = Nd4j.randn(DataType.DOUBLE, 4, 32), t2 = Nd4j.randn(DataType.DOUBLE, 6, 32);
        InstructionEncoding e1 = new InstructionEncoding("a", t1, t1.mean(0)), e2 = new InstructionEncoding("b", t2, t2.mean(0));
        Adapter a = model.add("p", new InstructionPrefixConfig(3, 5), 7);
        assertThat(a.parameterCount()).isEqualTo(new InstructionPrefixConfig(3, 5).parameterCount(2, 32, 16)).isEqualTo(3 * 32 + 5 * 32 + 5 + 64 * 5 + 64);
        Setup s = new Setup(base, model, e1, e2, Batch.of(new int[]{2, 5, 7, 60, 4, 3}, new int[]{2, 6, 7, 61, 4, 3}, new int[]{2, 20, 14, 62, 4, 3}));
        gradientsMatchFiniteDifferences(s, a);
        rowsMatchRowsAlone(s);
    }

    @Test
    void hypernetworkGradientsMatchFiniteDifferences(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        Adapter a = s.model().add("h", new HyperLoraConfig(2, 4, List.of("query", "value", "intermediate.dense"), 3), 7);
        // instruction 3·32 + 3, 6 site embeddings of 3; shapes 32x32 and 32x64: (2·32 + 32·2 + 2·32 + 64·2)·(3 + 1)
        assertThat(a.parameterCount()).isEqualTo(3 * 32 + 3 + 6 * 3 + (2 * 32 + 32 * 2) * 4 + (2 * 32 + 64 * 2) * 4);
        randomize(a, 0.3);
        gradientsMatchFiniteDifferences(s, a);
    }

    private static void rowsMatchRowsAlone(Setup s) {
        INDArray mixed = s.model().forward(s.batch(), ctx(3, List.of(s.e1(), s.e2()), 1, -1, 0)).hidden().value();
        InstructionEncoding[] byRow = {s.e2(), null, s.e1()};
        for (int r = 0; r < 3; r++) {
            Batch one = Batch.of(s.batch().ids()[r]);
            ForwardContext c = byRow[r] == null ? ForwardContext.inference(1) : ctx(1, List.of(byRow[r]), 0);
            INDArray alone = s.model().forward(one, c).hidden().value();
            assertThat(mixed.slice(r).sub(alone.slice(0)).amaxNumber().doubleValue()).as("row %d", r).isLessThan(1e-12);
        }
        // the row without an instruction is the base model's; the instructions make a difference
        s.model().adapters().forEach(a -> a.setActive(false));
        INDArray plain = s.base().forward(Batch.of(s.batch().ids()[1]), ForwardContext.inference(1)).hidden().value();
        assertThat(mixed.slice(1).sub(plain.slice(0)).amaxNumber().doubleValue()).isLessThan(1e-12);
        assertThat(mixed.slice(0).sub(s.model().forward(Batch.of(s.batch().ids()[0]), ctx(1, List.of(s.e1()), 0)).hidden().value().slice(0))
                .amaxNumber().doubleValue()).isGreaterThan(1e-6);
    }

    @Test
    void prefixRowsFollowTheirOwnInstruction(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        s.model().add("p", new InstructionPrefixConfig(3, 5), 7);
        rowsMatchRowsAlone(s);
    }

    @Test
    void hypernetworkRowsFollowTheirOwnInstruction(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        randomize(s.model().add("h", new HyperLoraConfig(2, 4, null, 3), 7), 0.3);
        rowsMatchRowsAlone(s);
    }

    @Test
    void hypernetworkStartsAsTheBaseModel(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        s.model().add("h", new HyperLoraConfig(2, 4, null, 3), 7);
        INDArray with = s.model().forward(s.batch(), ctx(3, List.of(s.e1()), 0, 0, 0)).hidden().value();
        INDArray without = s.base().forward(s.batch(), ForwardContext.inference(3)).hidden().value();
        assertThat(with.sub(without).amaxNumber().doubleValue()).isZero();
    }

    /** The generated adapter, written as a LoRA directory and loaded into a fresh model, computes what the hypernetwork does. */
    @Test
    void theExportedLoraLoadsBackAndGivesTheSameOutputs(@TempDir Path tmp) throws Exception {
        Setup s = setup(tmp);
        var h = (HyperLoraMethod.HyperLora) s.model().add("h", new HyperLoraConfig(2, 4, null, 3), 7);
        randomize(h, 0.3);
        Path out = tmp.resolve("generated");
        h.exportLora(s.e2(), "bert-tiny", out);
        JsonNode cfg = Json.read(out.resolve(PeftModel.CONFIG_FILE));
        assertThat(cfg.path("peft_type").asText()).isEqualTo("LORA");
        assertThat(cfg.path("r").asInt()).isEqualTo(2);
        assertThat(cfg.path("lora_alpha").asDouble()).isEqualTo(4.0);
        assertThat(cfg.path("target_modules").toString()).isEqualTo("[\"query\",\"value\"]");
        Map<String, INDArray> w = SafeTensors.readAll(out.resolve(PeftModel.WEIGHTS_FILE), DataType.DOUBLE);
        assertThat(w).containsKey("base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight").hasSize(8);
        assertThat(w.get("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight").shape()).containsExactly(2, 32);

        INDArray generated = s.model().forward(s.batch(), ctx(3, List.of(s.e2()), 0, 0, 0)).hidden().value();
        PeftModel fresh = PeftModel.of(Models.load(TinyInstruct.model(tmp.resolve("again")), DataType.DOUBLE));
        fresh.load(out, "generated");
        INDArray loaded = fresh.forward(s.batch(), ForwardContext.inference(3)).hidden().value();
        assertThat(generated.sub(loaded).amaxNumber().doubleValue()).isLessThan(1e-12);
        INDArray base = s.base().forward(s.batch(), ForwardContext.inference(3)).hidden().value();
        assertThat(generated.sub(base).amaxNumber().doubleValue()).isGreaterThan(1e-6);
    }

    /** Both modules are peft4j adapters: saved with the model and loaded back, they compute the same. */
    @Test
    void bothModulesSaveAndLoadAsAdapters(@TempDir Path tmp) throws Exception {
        for (var config : List.of(new InstructionPrefixConfig(3, 5), new HyperLoraConfig(2, 4, null, 3))) {
            Setup s = setup(tmp.resolve(config.peftType()));
            randomize(s.model().add("default", config, 7), 0.3);
            Path dir = tmp.resolve(config.peftType() + "-saved");
            s.model().save(dir);
            assertThat(Json.read(dir.resolve(PeftModel.CONFIG_FILE)).path("peft_type").asText()).isEqualTo(config.peftType());
            ForwardContext c = ctx(3, List.of(s.e1(), s.e2()), 1, -1, 0);
            INDArray before = s.model().forward(s.batch(), c).hidden().value();
            PeftModel fresh = PeftModel.of(Models.load(TinyInstruct.model(tmp.resolve(config.peftType() + "-again")), DataType.DOUBLE));
            fresh.load(dir, "default");
            assertThat(before.sub(fresh.forward(s.batch(), c).hidden().value()).amaxNumber().doubleValue()).isLessThan(1e-12);
        }
    }
}
