package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.io.Checkpoint;

import java.util.List;
import java.util.Map;

/**
 * Everything methods and tools may know about a model family, declared once in the family's own file
 * ({@link Gpt2#ARCHITECTURE}, {@link Bert#ARCHITECTURE}, {@link Llama#ARCHITECTURE}, {@link Mistral#ARCHITECTURE},
 * {@link Qwen2#ARCHITECTURE}) next to its weight names and hook sites: how its {@code config.json} reads and
 * writes, how it is built, what it is (decoder or encoder), and the per-architecture defaults Hugging Face PEFT
 * and AdapterHub keep in their tables. Methods ask the model ({@code model.architecture().defaultTargets("LORA")})
 * and never test a model's type; adding a family means adding its file and one line in {@link Architectures}.
 *
 * <pre>{@code
 * Architecture a = Models.load(dir, DataType.FLOAT).architecture();
 * List<String> targets = a.defaultTargets("LORA");      // llama: [q_proj, v_proj]
 * boolean causal = a.decoder();                          // true: generation, CAUSAL_LM, last-token pooling
 * }</pre>
 *
 * @param modelType            Hugging Face's {@code model_type}
 * @param decoder              a causal decoder (an LM that continues text) rather than a bidirectional encoder
 * @param modulePrefix         the base model's path inside Hugging Face's task models, prepended to hook-site
 *                             names in adapter files ({@code transformer.}, {@code bert.}, {@code model.})
 * @param inputEmbedding       the {@link TransformerModel#parameters() parameter} holding the token embedding
 *                             table {@code [V, D]} (prompt tuning initialises from its rows)
 * @param defaultTargets       {@code target_modules} by {@code peft_type} when a config names none: HF PEFT's
 *                             {@code TRANSFORMERS_MODELS_TO_<TYPE>_TARGET_MODULES_MAPPING} entry for this family
 * @param ia3Feedforward       IA3's default {@code feedforward_modules} (inputs scaled instead of outputs)
 * @param fanInFanOut          whether the family's linear weights are stored {@code [in, out]} (GPT-2's Conv1D),
 *                             which HF PEFT records as {@code fan_in_fan_out}
 * @param adapterHubModelClass AdapterHub's {@code model_class} for this family
 * @param adapterHubModule     where AdapterHub keeps a bottleneck adapter of a sublayer site
 * @param reader               reads this family's {@code config.json} fields
 * @param writer               writes them back as Hugging Face does
 * @param builder              builds the model from a config and a checkpoint
 */
public record Architecture(String modelType, boolean decoder, String modulePrefix, String inputEmbedding,
                           Map<String, List<String>> defaultTargets, List<String> ia3Feedforward, boolean fanInFanOut,
                           String adapterHubModelClass, SiteModule adapterHubModule, ConfigReader reader, ConfigWriter writer,
                           Builder builder) {
    public Architecture {
        defaultTargets = Map.copyOf(defaultTargets);
        ia3Feedforward = List.copyOf(ia3Feedforward);
    }

    /** Reads a family's fields from a parsed {@code config.json}; faults name {@code source} and the field. */
    @FunctionalInterface
    public interface ConfigReader {
        ModelConfig read(JsonNode json, String source);
    }

    /** A family's {@code config.json} content, as Hugging Face writes it. */
    @FunctionalInterface
    public interface ConfigWriter {
        Map<String, Object> write(ModelConfig config);
    }

    /**
     * Builds a model of the family. With a null checkpoint it builds the model a config describes without weights
     * ({@link Models#describe}): its hook sites and parameter count are real, its forward cannot run.
     */
    @FunctionalInterface
    public interface Builder {
        TransformerModel build(ModelConfig config, Checkpoint checkpoint, Precision precision);
    }

    /** The module (without {@link #modulePrefix}) that holds what a method attaches at a site. */
    @FunctionalInterface
    public interface SiteModule {
        String of(HookSite site);
    }

    /**
     * The default {@code target_modules} of {@code peftType} ({@code LORA}, {@code IA3}) on this family.
     *
     * @throws IllegalArgumentException when HF PEFT has no default for it either: the config must name them
     */
    public List<String> defaultTargets(String peftType) {
        List<String> t = defaultTargets.get(peftType);
        if (t == null) {
            throw new IllegalArgumentException("no default target_modules for " + peftType + " on model_type " + modelType + ": set them");
        }
        return t;
    }

    /**
     * Hugging Face PEFT's default {@code task_type} for adapters on this family, as written when a config names
     * none: {@code CAUSAL_LM} for decoders, {@code SEQ_CLS} for encoders.
     */
    public String taskType() {
        return decoder ? "CAUSAL_LM" : "SEQ_CLS";
    }
}
