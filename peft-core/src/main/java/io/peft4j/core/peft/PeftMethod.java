package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.model.TransformerModel;

import java.nio.file.Path;

/**
 * A PEFT method as a service: each method module ({@code peft-adapter}, {@code peft-prefix},
 * {@code peft-prompt}) registers its methods in {@code META-INF/services/io.peft4j.core.peft.PeftMethod},
 * and {@link Methods} finds them by {@code peft_type}. This keeps the core free of any method's code
 * while letting it read any adapter file.
 */
public interface PeftMethod {
    /** The {@code peft_type} this method reads and writes. */
    String peftType();

    /** The config class this method creates adapters from. */
    Class<? extends PeftConfig> configType();

    /** Parses {@code adapter_config.json}; faults name {@code file} and the field. */
    PeftConfig readConfig(JsonNode json, Path file);

    /**
     * Creates the adapter's modules for {@code model} and installs them on its hook sites.
     *
     * @param seed seeds the adapter's initialisation
     */
    Adapter create(TransformerModel model, PeftConfig config, String name, long seed);

    /**
     * Creates the adapter that {@link Adapter#loadStateDict} then fills from a file: by default
     * {@link #create} with seed 0; methods whose initialisation needs more than the base (a tokenizer)
     * or whose saved form differs from their training form override it.
     */
    default Adapter createForLoading(TransformerModel model, PeftConfig config, String name) {
        return create(model, config, name, 0);
    }
}
