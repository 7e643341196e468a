package io.peft4j.core.infer;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Stopping at any of several end-of-sequence ids, as a list-valued {@code eos_token_id} asks (Llama 3 Instruct). */
class GeneratorStopTest {

    @Test
    void eosIdsComeFromConfigGenerationConfigAndTokenizer(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"llama\",\"eos_token_id\":[128001,128009]}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\":[128001,128008,128009]}");
        assertThat(Models.eosTokenIds(dir, 5)).containsExactly(5, 128001, 128008, 128009);
        assertThat(Models.eosTokenIds(dir, -1)).containsExactly(128001, 128008, 128009);
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\":7}");
        assertThat(Models.eosTokenIds(dir, 7)).containsExactly(7, 128001, 128009);
    }

    @Test
    void aMalformedEosIdIsRefusedNamingItsFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\":2}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\":[2,\"x\"]}");
        assertThatThrownBy(() -> Models.eosTokenIds(dir, -1)).isInstanceOf(PeftException.class)
                .hasMessageContaining("generation_config.json").hasMessageContaining("eos_token_id");
    }

    /** The reference's greedy tokens (an independent float64 run), cut after the first that is any stop id. */
    @Test
    void generationStopsAfterTheFirstOfSeveralStopIds() {
        JsonNode exp = Fixtures.expected("llama-tiny");
        Decoder m = (Decoder) Models.load(Fixtures.dir("llama-tiny"), DataType.FLOAT);
        int[] prompt = Fixtures.ints(exp.get("input_ids"));
        int[] greedy = Fixtures.ints(exp.get("greedy_8"));
        int unused = 0;
        while (contains(greedy, unused)) unused++;
        int[] out = Generator.generate(m, prompt, 8, 0, 0, new int[]{greedy[5], unused, greedy[3]});
        assertThat(out).containsExactly(Arrays.copyOf(greedy, 4));
        assertThat(Generator.generate(m, prompt, 8, 0, 0, new int[]{unused})).containsExactly(greedy);
    }

    private static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(x -> x == v);
    }
}
