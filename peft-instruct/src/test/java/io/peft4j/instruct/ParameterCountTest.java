package io.peft4j.instruct;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trainable parameters of the study's default modules on a BERT-base-shaped model (12 layers, hidden 768), counted
 * from the tensors the modules create, against the counts docs/instruction-tuning.md derives by hand.
 */
class ParameterCountTest {
    private static long count(PeftConfig c) {
        ModelConfig bertBase = new ModelConfig("bert", 30522, 768, 12, 12, 3072, 512, 2, 1e-12, "gelu", 0, -1);
        PeftModel m = PeftModel.of(Models.describe(bertBase));
        return m.add("x", c).parameterCount();
    }

    @Test
    void theDefaultsOnBertBase() {
        StudyConfig d = StudyConfig.defaults();
        // LoRA r 8 on query and value: 24 sites of 8·(768 + 768)
        assertThat(count(d.method())).isEqualTo(24L * 8 * (768 + 768)).isEqualTo(294_912);
        assertThat(d.method()).isEqualTo(LoraConfig.defaults().withR(8).withAlpha(16));
        // prefix P 10, k 16: P·d + k·d + k + 2·L·d·k + 2·L·d
        assertThat(count(d.prefix())).isEqualTo(10 * 768 + 16 * 768 + 16 + 18_432L * 16 + 18_432).isEqualTo(333_328)
                .isEqualTo(new InstructionPrefixConfig(10, 16).parameterCount(12, 768));
        // hypernetwork r 8, k 32 on query and value (24 sites, one shape): k·d + k + S·k + (r·in + out·r)·(k + 1)
        assertThat(count(d.hyper())).isEqualTo(32 * 768 + 32 + 24 * 32 + (8 * 768 + 768 * 8) * 33L).isEqualTo(430_880);
        assertThat(d.hyper()).isEqualTo(new HyperLoraConfig(8, 16, null, 32));
    }
}
