package io.peft4j.cli;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.List;

/** The PEFT method and its options, shared by {@code params} and {@code train}. */
final class MethodOptions {
    @Option(names = "--method", required = true,
            description = "lora, ia3, prompt, ptuning, prefix, adapter, full (every base weight), or none (only the head or the template's soft tokens train).")
    String method;
    @Option(names = "--r", description = "LoRA rank (default 8).")
    Integer r;
    @Option(names = "--alpha", description = "LoRA alpha (default: r's default 8).")
    Double alpha;
    @Option(names = "--lora-dropout", description = "LoRA dropout (default 0).")
    Double loraDropout;
    @Option(names = "--rslora", description = "LoRA with rank-stabilised scaling alpha/sqrt(r).")
    boolean rslora;
    @Option(names = "--target-modules", description = "Comma-separated module names, or all-linear (LoRA, IA3).")
    String targetModules;
    @Option(names = "--num-virtual-tokens", description = "Virtual tokens (prompt, ptuning, prefix; default 20).")
    Integer numVirtualTokens;
    @Option(names = "--prefix-projection", description = "Prefix tuning through an MLP reparameterization.")
    boolean prefixProjection;
    @Option(names = "--encoder-hidden-size", description = "Hidden size of the P-tuning / prefix encoder (default: the model's hidden size).")
    Integer encoderHiddenSize;
    @Option(names = "--encoder", description = "P-tuning encoder: MLP or LSTM (default MLP).")
    String encoder;
    @Option(names = "--adapter-config", description = "Bottleneck adapter: houlsby, pfeiffer or parallel (default pfeiffer).")
    String adapterConfig;
    @Option(names = "--reduction-factor", description = "Bottleneck reduction factor (default: the configuration's).")
    Integer reductionFactor;

    boolean full() {
        return method.equals("full");
    }

    /** How {@code train} adapts the base: the method's adapter, full fine-tuning, or none. */
    ClassifierTraining.Method choice(long hidden) {
        PeftConfig c = config(hidden);
        if (c != null) return new ClassifierTraining.Method.Adapter(method, c);
        return full() ? new ClassifierTraining.Method.Full() : new ClassifierTraining.Method.None();
    }

    /** The method's config for a model of hidden size {@code hidden}; null for full fine-tuning and none. */
    PeftConfig config(long hidden) {
        List<String> targets = targetModules == null ? null : Arrays.stream(targetModules.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        int n = numVirtualTokens == null ? 20 : numVirtualTokens;
        int h = encoderHiddenSize == null ? (int) hidden : encoderHiddenSize;
        try {
            return switch (method) {
                case "lora" -> {
                    LoraConfig c = LoraConfig.defaults();
                    if (r != null) c = c.withR(r);
                    if (alpha != null) c = c.withAlpha(alpha);
                    if (loraDropout != null) c = c.withDropout(loraDropout);
                    if (targets != null) c = c.withTargetModules(targets.toArray(String[]::new));
                    yield c.withRslora(rslora);
                }
                case "ia3" -> new Ia3Config(targets, null, null, null);
                case "prompt" -> PromptTuningConfig.random(n);
                case "ptuning" -> new PTuningConfig(n, encoder == null ? PTuningConfig.Encoder.MLP : PTuningConfig.Encoder.valueOf(encoder.toUpperCase()), h, 2, 0.0, null, null);
                case "prefix" -> prefixProjection ? PrefixTuningConfig.withProjection(n, h) : PrefixTuningConfig.of(n);
                case "adapter" -> {
                    BottleneckConfig c = BottleneckConfig.of(BottleneckConfig.Architecture.parse(adapterConfig == null ? "pfeiffer" : adapterConfig));
                    yield reductionFactor == null ? c : c.withReductionFactor(reductionFactor);
                }
                case "full", "none" -> null;
                default -> throw new PeftException("--method: '" + method + "' is not one of lora, ia3, prompt, ptuning, prefix, adapter, full, none");
            };
        } catch (IllegalArgumentException e) {
            throw new PeftException("--method " + method + ": " + e.getMessage());
        }
    }
}
