package io.peft4j.core.model;

import io.peft4j.core.PeftException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model families peft4j computes, by Hugging Face {@code model_type}. This is the one place a family is
 * registered; everything else about it is declared in its own file ({@link Architecture}).
 */
public final class Architectures {
    private static final Map<String, Architecture> BY_TYPE = new LinkedHashMap<>();

    static {
        for (Architecture a : List.of(Gpt2.ARCHITECTURE, Bert.ARCHITECTURE, Llama.ARCHITECTURE, Mistral.ARCHITECTURE, Qwen2.ARCHITECTURE)) {
            BY_TYPE.put(a.modelType(), a);
        }
    }

    private Architectures() {
    }

    /** Every known {@code model_type}, in registration order. */
    public static List<String> known() {
        return List.copyOf(BY_TYPE.keySet());
    }

    /**
     * The family of {@code modelType}.
     *
     * @throws PeftException naming the type and the known ones, for a family peft4j does not compute
     */
    public static Architecture forType(String modelType) {
        Architecture a = BY_TYPE.get(modelType);
        if (a == null) throw new PeftException("model_type '" + modelType + "' is not supported (" + String.join(", ", known()) + ")");
        return a;
    }
}
