package io.peft4j.sft.eval;

import java.util.List;

/**
 * How answers are generated for evaluation.
 *
 * @param maxNewTokens the most tokens generated per answer
 * @param temperature  0 for greedy decoding, else sampling from {@code softmax(logits / T)}
 * @param seed         seeds sampling; example i uses {@code seed + i}, so a run is reproducible whatever the order
 * @param stop         stop strings: an answer ends before the first occurrence of any of them (HF's {@code stop_strings},
 *                     the stop string itself dropped)
 */
public record GenerationConfig(int maxNewTokens, double temperature, long seed, List<String> stop) {
    public GenerationConfig {
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be positive, not " + maxNewTokens);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, not " + temperature);
        stop = List.copyOf(stop);
        for (String s : stop) if (s.isEmpty()) throw new IllegalArgumentException("an empty stop string");
    }

    /** Greedy decoding of at most {@code maxNewTokens}, no stop strings. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0, 0, List.of());
    }

    /** The same with {@code stop} strings. */
    public GenerationConfig withStop(String... stop) {
        return new GenerationConfig(maxNewTokens, temperature, seed, List.of(stop));
    }

    /** The same, sampling at {@code temperature} from {@code seed}. */
    public GenerationConfig sampled(double temperature, long seed) {
        return new GenerationConfig(maxNewTokens, temperature, seed, stop);
    }
}
