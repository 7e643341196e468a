package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.head.TokenClassificationHead;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.peft4j.core.Fixtures.matrix;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The LM objectives against losses computed from the independent reference's logits; heads against their definitions. */
class ObjectivesTest {
    private static double nll(double[] logits, int target) {
        double max = java.util.Arrays.stream(logits).max().orElseThrow(), s = 0;
        for (double v : logits) s += Math.exp(v - max);
        return Math.log(s) + max - logits[target];
    }

    @Test
    void causalLmLossOnTheResponseOnlyMatchesTheReferenceLogits() {
        JsonNode exp = Fixtures.expected("gpt2-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        double[][] ref = matrix(exp.get("logits"));
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        int[] prompt = java.util.Arrays.copyOf(ids, 3), response = java.util.Arrays.copyOfRange(ids, 3, ids.length);
        double expected = 0;
        for (int i = 3; i < ids.length; i++) expected += nll(ref[i - 1], ids[i]);
        expected /= ids.length - 3;
        double loss = Objectives.causalLm(0).loss(m, List.of(Example.Lm.response(prompt, response)), ForwardContext.inference(1)).value().getDouble(0);
        assertThat(loss).isCloseTo(expected, within(1e-4));
        // padding a shorter example next to it changes nothing
        Example.Lm shorter = Example.Lm.all(new int[]{5, 6});
        double both = Objectives.causalLm(0).loss(m, List.of(Example.Lm.response(prompt, response), shorter), ForwardContext.inference(2)).value().getDouble(0);
        double alone = Objectives.causalLm(0).loss(m, List.of(shorter), ForwardContext.inference(1)).value().getDouble(0);
        int n = ids.length - 3;
        assertThat(both).isCloseTo((expected * n + alone) / (n + 1), within(1e-4));
    }

    @Test
    void maskedLmClozeLossMatchesTheReferenceLogits() {
        JsonNode exp = Fixtures.expected("bert-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids")), types = Fixtures.ints(exp.get("token_type_ids"));
        double[][] ref = matrix(exp.get("mlm_logits"));
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        int[] real = java.util.Arrays.copyOf(ids, 8), tt = java.util.Arrays.copyOf(types, 8);   // the unpadded positions
        int[] labels = new int[8];
        java.util.Arrays.fill(labels, Objectives.IGNORE);
        labels[2] = 17;
        labels[5] = 40;
        double expected = (nll(ref[2], 17) + nll(ref[5], 40)) / 2;
        double loss = Objectives.maskedLm(0).loss(m, List.of(new Example.Cloze(real, tt, labels)), ForwardContext.inference(1)).value().getDouble(0);
        assertThat(loss).isCloseTo(expected, within(1e-4));
    }

    @Test
    void headsPoolAsDefinedTrainWithEveryObjectiveAndSaveBesideTheModel(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE));
        List<Example.Regression> reg = List.of(new Example.Regression(new int[]{2, 5, 9, 3}, null, 0.5), new Example.Regression(new int[]{2, 7, 3}, null, -1.0));
        for (Pooling p : Pooling.values()) {
            ClassificationHead h = new ClassificationHead(p, List.of("y"), true, 32, 0.0, DataType.DOUBLE, 3);
            m.setHead(h);
            GradCheck.check(() -> Objectives.regression().loss(m, reg, ForwardContext.inference(2)), new ArrayList<>(h.parameters().values()), 10, 1e-6);
        }
        // MEAN pooling averages the attended positions only: row 2 has one padded position
        var out = m.forward(Objectives.collate(List.of(new int[]{2, 5, 9, 3}, new int[]{2, 7, 3}), null), ForwardContext.inference(2));
        INDArray h = out.hidden().value();
        INDArray mean = Pooling.MEAN.pool(out).value();
        INDArray manual = h.slice(1).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3), org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(0);
        assertThat(mean.getRow(1).equalsWithEps(manual, 1e-12)).isTrue();
        INDArray last = Pooling.LAST.pool(out).value();
        assertThat(last.getRow(1).equalsWithEps(h.slice(1).getRow(2), 1e-12)).isTrue();

        TokenClassificationHead tok = new TokenClassificationHead(List.of("O", "B", "I"), 32, 0.0, DataType.DOUBLE, 4);
        m.setHead(tok);
        List<Example.Tokens> toks = List.of(new Example.Tokens(new int[]{2, 5, 9, 3}, new int[]{-100, 1, 2, -100}), new Example.Tokens(new int[]{2, 7}, new int[]{0, 1}));
        GradCheck.check(() -> Objectives.tokenClassification(0.1).loss(m, toks, ForwardContext.inference(2)), new ArrayList<>(tok.parameters().values()), 10, 1e-6);

        PeftModel f = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        ClassificationHead head = ClassificationHead.classification(Pooling.CLS, List.of("neg", "pos"), 32, DataType.FLOAT, 5);
        f.setHead(head);
        f.save(tmp.resolve("h"));
        var cfg = io.peft4j.core.io.Json.read(tmp.resolve("h/head_config.json"));
        assertThat(cfg.get("id2label").get("1").asText()).isEqualTo("pos");
        io.peft4j.core.head.Head back = io.peft4j.core.head.Head.read(cfg, tmp.resolve("h/head_config.json"), DataType.FLOAT);
        back.load(io.peft4j.core.io.SafeTensors.readAll(tmp.resolve("h/head.safetensors"), DataType.FLOAT), tmp.resolve("h/head.safetensors"));
        for (var e : head.parameters().entrySet()) assertThat(back.parameters().get(e.getKey()).value().equals(e.getValue().value())).isTrue();
    }
}
