package io.peft4j.probe;

import io.peft4j.core.head.Pooling;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProbeConfigTest {
    /** The documented defaults, component by component. */
    @Test
    void defaultsAreTheDocumentedOnes() {
        assertThat(ProbeConfig.defaults()).isEqualTo(new ProbeConfig(List.of(Pooling.CLS, Pooling.MEAN), List.of(), 128, 16, LinearProbe.Config.defaults(),
                List.of(1e-3, 1e-2, 1e-1, 1.0), null, 0.2, 42, null, null));
    }

    /** The builder sets exactly the components named, toBuilder keeps the others, and the withers say the same. */
    @Test
    void builderSetsWhatItNamesAndKeepsTheRest() {
        LinearProbe.Config linear = LinearProbe.Config.defaults().withL2(0.5);
        ProbeConfig c = ProbeConfig.builder().poolings(List.of(Pooling.MEAN)).layers(List.of(0, 6)).maxLength(64).batchSize(4).linear(linear)
                .l2Grid(List.of(0.1)).mlp(MlpProbe.Config.defaults()).heldOut(0.25, 7).cacheFile(Path.of("f.bin")).cacheDirectory(Path.of("cache")).build();
        assertThat(c).isEqualTo(new ProbeConfig(List.of(Pooling.MEAN), List.of(0, 6), 64, 4, linear, List.of(0.1), MlpProbe.Config.defaults(), 0.25, 7,
                Path.of("f.bin"), Path.of("cache")));
        assertThat(c.toBuilder().maxLength(32).build()).isEqualTo(new ProbeConfig(List.of(Pooling.MEAN), List.of(0, 6), 32, 4, linear, List.of(0.1),
                MlpProbe.Config.defaults(), 0.25, 7, Path.of("f.bin"), Path.of("cache")));
        assertThat(ProbeConfig.defaults().withPoolings(List.of(Pooling.MEAN)).withLayers(List.of(0, 6)).withMaxLength(64).withBatchSize(4).withLinear(linear)
                .withL2Grid(List.of(0.1)).withMlp(MlpProbe.Config.defaults()).withHeldOut(0.25, 7).withCacheFile(Path.of("f.bin"))
                .withCacheDirectory(Path.of("cache"))).isEqualTo(c);
    }

    @Test
    void badValuesAreRefusedNamingThem() {
        assertThatThrownBy(() -> ProbeConfig.builder().maxLength(0).build()).hasMessageContaining("max length 0 must be positive");
        assertThatThrownBy(() -> ProbeConfig.builder().heldOut(1.0, 1).build()).hasMessageContaining("held-out fraction 1.0 must lie in (0, 1)");
        assertThatThrownBy(() -> ProbeConfig.builder().poolings(List.of(Pooling.CLS, Pooling.CLS)).build()).hasMessageContaining("poolings must be distinct");
        assertThatThrownBy(() -> ProbeConfig.builder().l2Grid(List.of(-1.0)).build()).hasMessageContaining("L2 strength -1.0 must be >= 0");
    }
}
