package io.peft4j.prompt;

import io.peft4j.core.tokenizer.ByteLevelBpeTokenizer;
import io.peft4j.core.tokenizer.WordPieceTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Hand-made tokenizers whose vocabularies fit the tiny fixture models (bert-tiny: 101 ids, gpt2-tiny: 97), so
 * that text renders to ids the tests can write down.
 */
public final class TinyTokenizers {
    private TinyTokenizers() {
    }

    /** The WordPiece vocabulary of {@link #bert()}, id = index; ids beyond the words are {@code xN}. */
    public static final List<String> BERT_VOCAB;

    static {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                "the", "movie", "it", "was", "great", "terrible", "good", "bad", "awful", "fine", ".", ",", "a", "film", "is",
                "not", "##s", "super", "##b", "all", "in", "n", "/", "subject", "body", "spam", "ham", "junk", "normal", "plot", "acting"));
        while (v.size() < 101) v.add("x" + v.size());
        BERT_VOCAB = List.copyOf(v);
    }

    /** An uncased WordPiece tokenizer over {@link #BERT_VOCAB} ({@code [CLS]} 2, {@code [SEP]} 3, {@code [MASK]} 4). */
    public static WordPieceTokenizer bert() {
        return new WordPieceTokenizer(BERT_VOCAB, true, true, 100, "tiny-bert-vocab");
    }

    /** The id of a word of {@link #BERT_VOCAB}. */
    public static int bertId(String token) {
        int i = BERT_VOCAB.indexOf(token);
        if (i < 0) throw new IllegalArgumentException(token);
        return i;
    }

    /** A byte-level BPE tokenizer for gpt2-tiny over {@link io.peft4j.core.Fixtures#gpt2TinyVocab()} and its two merges. */
    public static ByteLevelBpeTokenizer gpt2() {
        return new ByteLevelBpeTokenizer(io.peft4j.core.Fixtures.gpt2TinyVocab(), io.peft4j.core.Fixtures.GPT2_TINY_MERGES, List.of(), "tiny-gpt2-vocab",
                "tiny-gpt2-merges");
    }

    /** The text {@link #gpt2()} encodes to {@code ids} (each below 94). */
    public static String gpt2Text(int... ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append((char) (33 + id));
        return sb.toString();
    }
}
