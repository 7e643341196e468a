package io.peft4j.core.train;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainingConfigTest {
    /** The documented defaults, component by component. */
    @Test
    void defaultsAreTheDocumentedOnes() {
        TrainingConfig c = TrainingConfig.defaults();
        assertThat(c).isEqualTo(new TrainingConfig(1e-3, 0.0, 0, Schedule.LINEAR, 1.0, 8, 1, 1, 0, 42, 0, 0, null, 0, false));
    }

    /** The builder sets exactly the components named, toBuilder keeps the others, and the withers say the same. */
    @Test
    void builderSetsWhatItNamesAndKeepsTheRest() {
        TrainingConfig c = TrainingConfig.builder().learningRate(5e-4).batchSize(16, 2).epochs(3).warmup(20, Schedule.COSINE)
                .seed(7).evaluation(50, 3).checkpoints(Path.of("ck"), 10, true).maxSteps(100).weightDecay(0.01).maxGradNorm(0).build();
        assertThat(c).isEqualTo(new TrainingConfig(5e-4, 0.01, 20, Schedule.COSINE, 0, 16, 2, 3, 100, 7, 50, 3, Path.of("ck"), 10, true));
        assertThat(c.toBuilder().seed(8).build()).isEqualTo(new TrainingConfig(5e-4, 0.01, 20, Schedule.COSINE, 0, 16, 2, 3, 100, 8, 50, 3, Path.of("ck"), 10, true));
        assertThat(TrainingConfig.defaults().withLearningRate(5e-4).withBatchSize(16, 2).withEpochs(3).withWarmup(20, Schedule.COSINE).withSeed(7)
                .withEvaluation(50, 3).withCheckpoints(Path.of("ck"), 10, true).withMaxSteps(100).withWeightDecay(0.01).withMaxGradNorm(0)).isEqualTo(c);
    }

    @Test
    void badValuesAreRefusedNamingThem() {
        assertThatThrownBy(() -> TrainingConfig.builder().learningRate(0).build()).hasMessageContaining("learning rate must be positive");
        assertThatThrownBy(() -> TrainingConfig.builder().batchSize(0, 1).build()).hasMessageContaining("batch size 0");
        assertThatThrownBy(() -> TrainingConfig.builder().epochs(0).build()).hasMessageContaining("one of them must be positive");
    }
}
