package io.peft4j.core.train;

import io.peft4j.core.Fixtures;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What full fine-tuning saves: the whole base as a Hugging Face checkpoint ({@code config.json} +
 * {@code model.safetensors}) with the head beside it. Untrained, the file is the fixture that Hugging Face
 * wrote, key for key and bit for bit (BERT's linears back in {@code [out, in]}, its keys with {@code bert.}).
 * Trained, it loads back as a base (and the head beside it) to the same logits.
 */
class FullModelFilesTest {

    @ParameterizedTest
    @ValueSource(strings = {"bert-tiny", "gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void anUntrainedModelSavesAsTheHuggingFaceCheckpointItCameFrom(String fixture, @TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir(fixture), DataType.FLOAT));
        m.unfreezeBase();
        m.save(tmp.resolve("out"));
        Map<String, INDArray> saved = SafeTensors.readAll(tmp.resolve("out/model.safetensors"), DataType.FLOAT);
        Map<String, INDArray> hf = SafeTensors.readAll(Fixtures.dir(fixture).resolve("model.safetensors"), DataType.FLOAT);
        assertThat(saved.keySet()).isEqualTo(hf.keySet());
        hf.forEach((k, v) -> {
            assertThat(saved.get(k).shape()).as(k).isEqualTo(v.shape());
            assertThat(floats(saved.get(k))).as(k).isEqualTo(floats(v));
        });
        assertThat(ModelConfig.load(tmp.resolve("out/config.json"))).isEqualTo(ModelConfig.load(Fixtures.dir(fixture).resolve("config.json")));
    }

    @Test
    void aFullyFineTunedClassifierLoadsBackToTheSameLogits(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        m.unfreezeBase();
        m.setHead(new ClassificationHead(Pooling.CLS, List.of("no", "yes"), false, 32, 0.0, DataType.FLOAT, 1));
        INDArray queryBefore = m.base().parameters().get("encoder.layer.0.attention.self.query.weight").value().dup();
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(8, 1).withMaxSteps(20);
        new Trainer<>(m, Objectives.classification(0), cfg).fit(TrainerTest.sevens(64, 2), null, null);
        INDArray queryAfter = m.base().parameters().get("encoder.layer.0.attention.self.query.weight").value();
        assertThat(queryAfter.sub(queryBefore).amaxNumber().doubleValue()).isGreaterThan(1e-3);   // the base did train

        Path dir = tmp.resolve("trained");
        m.save(dir);
        PeftModel back = PeftModel.of(Models.load(dir, DataType.FLOAT));
        back.loadHead(dir);
        Batch batch = Batch.of(new int[]{2, 7, 40, 51, 3}, new int[]{2, 12, 13, 14, 3});
        assertThat(floats(logits(back, batch))).isEqualTo(floats(logits(m, batch)));
        assertThat(floats(back.base().parameters().get("encoder.layer.0.attention.self.query.weight").value())).isEqualTo(floats(queryAfter));
    }

    @Test
    void aFrozenBaseIsNotSaved(@TempDir Path tmp) {
        PeftModel m = PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT));
        m.setHead(new ClassificationHead(Pooling.CLS, List.of("no", "yes"), false, 32, 0.0, DataType.FLOAT, 1));
        m.save(tmp.resolve("probe"));
        assertThat(tmp.resolve("probe/head_config.json")).exists();
        assertThat(tmp.resolve("probe/model.safetensors")).doesNotExist();
        assertThat(tmp.resolve("probe/config.json")).doesNotExist();
    }

    private static INDArray logits(PeftModel m, Batch b) {
        ForwardContext ctx = ForwardContext.inference(b.size());
        return Workspaces.run(() -> new INDArray[]{m.headLogits(m.forward(b, ctx), ctx).value()})[0];
    }

    private static float[] floats(INDArray a) {
        return a.dup('c').data().asFloat();
    }
}
