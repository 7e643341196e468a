package io.peft4j.sft.eval;

import io.peft4j.core.PeftException;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.TransformerModel;

/**
 * What evaluation by generation needs from a model: new token ids after a prompt. {@link #of} adapts the core's
 * {@link Generator} (with the adapters installed on the model applying); tests may give any function.
 */
public interface Completer {
    /**
     * The generated ids after {@code prompt}: at most {@code maxNewTokens}, ending with the end-of-sequence token when
     * one is generated.
     */
    int[] complete(int[] prompt, int maxNewTokens, double temperature, long seed);

    /** The most positions prompt and answer may take together. */
    default int maxPositions() {
        return Integer.MAX_VALUE;
    }

    /**
     * Generation with {@code model} through {@link Generator}, stopping after any of {@code stopIds} (negative ids
     * ignored; {@code Models.eosTokenIds} gives a model directory's): any {@link Decoder} (GPT-2, the Llama family),
     * as its architecture says.
     */
    static Completer of(TransformerModel model, int... stopIds) {
        int[] stops = java.util.Arrays.stream(stopIds).filter(i -> i >= 0).toArray();
        if (!model.architecture().decoder() || !(model instanceof Decoder g)) {
            throw new PeftException("generation needs a decoder model; this base is a " + model.config().modelType() + " encoder");
        }
        return new Completer() {
            @Override
            public int[] complete(int[] prompt, int maxNewTokens, double temperature, long seed) {
                return Generator.generate(g, prompt, maxNewTokens, temperature, seed, stops);
            }

            @Override
            public int maxPositions() {
                return g.config().maxPositions();
            }
        };
    }
}
