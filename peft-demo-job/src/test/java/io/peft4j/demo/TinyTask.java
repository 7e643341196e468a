package io.peft4j.demo;

import io.peft4j.core.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tiny BERT fixture with a 101-token WordPiece vocabulary ({@code good} 5, {@code bad} 6, {@code film} 7) and a
 * two-label task a bag of words, a head and the mask's words can all tell apart: "good film w10|w12" is pos, "bad film
 * w11|w13" is neg.
 */
final class TinyTask {
    private TinyTask() {
    }

    /** A model directory: bert-tiny's config and weights with the vocabulary. */
    static Path model(Path tmp) throws IOException {
        Path model = Files.createDirectories(tmp.resolve("bert"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(Fixtures.dir("bert-tiny").resolve(f), model.resolve(f));
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "it", "was"));
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(model.resolve("vocab.txt"), vocab);
        return model;
    }

    /** {@code n} records, alternately pos ("good film wK") and neg ("bad film wK"), as JSON lines in {@code file}. */
    static Path data(Path file, int n, String onlyLabel) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            boolean pos = onlyLabel != null ? onlyLabel.equals("pos") : i % 2 == 0;
            b.append(String.format("{\"text\": \"%s film w%d\", \"label\": \"%s\"}%n", pos ? "good" : "bad", 10 + i % 4, pos ? "pos" : "neg"));
        }
        Files.writeString(file, b);
        return file;
    }

    /** The task: 24 training and 12 dev records, with a template and label words. */
    static DemoTask task(Path tmp) throws IOException {
        return DemoTask.files(data(tmp.resolve("train.jsonl"), 24, null), data(tmp.resolve("dev.jsonl"), 12, null), null, null,
                "{text} it was {mask} .", "pos=good;neg=bad");
    }

    /** A budget for the tiny model: 16 tokens, 16 training and 12 dev examples, 6 steps of 4, 4 virtual tokens. */
    static DemoSettings.Budget budget() {
        return new DemoSettings.Budget(16, 16, 12, 6, 4, 4, 1, 16);
    }
}
