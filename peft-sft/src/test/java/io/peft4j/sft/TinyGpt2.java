package io.peft4j.sft;

import io.peft4j.core.tokenizer.ByteLevelBpeTokenizer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gpt2-tiny fixture's vocabulary as a byte-level tokenizer: its 97 ids are the characters '!'..'~' (0..93), space
 * (94, 'Ġ'), newline (95, 'Ċ') and {@code <|endoftext|>} (96); with no merges every character is one token. The other
 * byte symbols a byte-level vocabulary must hold sit at ids the model never produces.
 */
public final class TinyGpt2 {
    public static final int EOS = 96;

    private TinyGpt2() {
    }

    public static ByteLevelBpeTokenizer tokenizer() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < 94; i++) vocab.put(String.valueOf((char) ('!' + i)), i);
        vocab.put("Ġ", 94);
        vocab.put("Ċ", 95);
        vocab.put("<|endoftext|>", 96);
        for (int b = 0xA1; b <= 0xFF; b++) if (b != 0xAD) vocab.put(String.valueOf((char) b), vocab.size());
        for (int n = 0; n < 68; n++) vocab.putIfAbsent(String.valueOf((char) (256 + n)), vocab.size());
        return new ByteLevelBpeTokenizer(vocab, List.of(), List.of("<|endoftext|>"), "gpt2-tiny vocabulary", "gpt2-tiny merges");
    }
}
