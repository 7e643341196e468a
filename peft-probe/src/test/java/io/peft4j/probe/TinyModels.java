package io.peft4j.probe;

import io.peft4j.core.Fixtures;
import io.peft4j.core.hooks.HiddenHook;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.WordPieceTokenizer;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/** The tiny reference checkpoints, a WordPiece vocabulary for tiny BERT, and a forward-pass counter. */
final class TinyModels {
    private TinyModels() {
    }

    static TransformerModel bert() {
        return Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT);
    }

    static TransformerModel gpt2() {
        return Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT);
    }

    /** Tiny BERT's 101 ids as a WordPiece vocabulary: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then words w5..w100. */
    static WordPieceTokenizer bertTokenizer() {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (int i = 5; i <= 100; i++) vocab.add("w" + i);
        return new WordPieceTokenizer(vocab, true, true, 100, "tiny vocabulary");
    }

    /** An encoding of {@code ids} with all tokens real and segment 0. */
    static Encoding encoding(int... ids) {
        return new Encoding(ids, new String[ids.length], new int[ids.length], ones(ids.length));
    }

    static int[] ones(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    /** {@code count} random id sequences with lengths 1..maxLength over ids 5..vocab-1. */
    static List<Encoding> randomInputs(int count, int maxLength, int vocab, long seed) {
        Random r = new Random(seed);
        List<Encoding> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] ids = new int[1 + r.nextInt(maxLength)];
            for (int j = 0; j < ids.length; j++) ids[j] = 5 + r.nextInt(vocab - 5);
            out.add(encoding(ids));
        }
        return out;
    }

    /** Installs a hook on the model's final hidden states that counts forward passes. */
    static AtomicInteger countPasses(TransformerModel model) {
        AtomicInteger n = new AtomicInteger();
        model.hooks().add("final", (HiddenHook) (h, ctx) -> {
            n.incrementAndGet();
            return h;
        });
        return n;
    }
}
