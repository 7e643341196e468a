package io.peft4j.instruct;

import io.peft4j.core.Fixtures;
import io.peft4j.core.data.TextRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tiny BERT fixture (2 layers, hidden 32, 40 positions) with a 101-token WordPiece vocabulary that holds the label
 * words of the tiny instruction files in {@code src/test/resources/tiny}, and four synthetic two-label tasks in three
 * clusters: polarity ("good film wK" / "bad film wK") and rating ("film rated high wK" / "... low wK") in cluster
 * {@code film}, animal ("a cat wK" / "a dog wK") and size ("a big box wK" / "a small box wK") each on their own.
 */
final class TinyInstruct {
    static final List<String> WORDS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "it", "was", "yes", "no", "is",
            "the", "a", "?", ":", ".", ",", "answer", "cat", "dog", "big", "small", "high", "low", "rated", "rating", "box", "which", "animal",
            "or", "say", "if", "size", "how", "read", "what", "said", "of", "some", "are", "about", "this", "things", "got", "polarity", "female",
            "male", "positive", "negative");

    private TinyInstruct() {
    }

    /** A model directory: bert-tiny's config and weights with the vocabulary above, padded to 101 tokens. */
    static Path model(Path tmp) throws IOException {
        Path model = Files.createDirectories(tmp.resolve("bert"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(Fixtures.dir("bert-tiny").resolve(f), model.resolve(f));
        List<String> vocab = new ArrayList<>(WORDS);
        while (vocab.size() < 101) vocab.add("w" + vocab.size());
        Files.write(model.resolve("vocab.txt"), vocab);
        return model;
    }

    /** The tiny instruction file of {@code task}. */
    static Path instructionFile(String task) {
        return Fixtures.resource("tiny/" + task + ".json");
    }

    /** {@code n} records of {@code task}, the labels alternating. */
    static List<TextRecord> records(String task, int n, String split) {
        List<TextRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean first = i % 2 == 0;
            String w = "w" + (60 + i % 9);
            String[] tl = switch (task) {
                case "polarity" -> new String[]{(first ? "good" : "bad") + " film " + w, first ? "pos" : "neg"};
                case "rating" -> new String[]{"film rated " + (first ? "high " : "low ") + w, first ? "high" : "low"};
                case "animal" -> new String[]{"a " + (first ? "cat " : "dog ") + w, first ? "cat" : "dog"};
                case "size" -> new String[]{"a " + (first ? "big" : "small") + " box " + w, first ? "big" : "small"};
                default -> throw new IllegalArgumentException(task);
            };
            out.add(new TextRecord(Map.of("text", tl[0]), tl[1], task + "/" + split + ".jsonl", i + 1));
        }
        return out;
    }

    /** A tiny task with its instruction file. */
    static InstructTask task(String name, int train, int dev) {
        return InstructTask.of(name, List.of("text"), records(name, train, "train"), records(name, dev, "dev"), Instructions.read(instructionFile(name)));
    }
}
