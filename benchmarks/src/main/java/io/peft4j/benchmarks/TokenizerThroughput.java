package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenizer load time and encoding throughput on a fixed corpus: the texts of the spam dev set (683 e-mails, about
 * 1 MB) of peft-datasets. For each model directory given (holding {@code tokenizer.json}, {@code vocab.txt}, ...):
 * the cold load (first in this JVM) and warm loads, then tokens per second over the corpus after a warm-up pass,
 * one thread.
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar:benchmarks/target/lib/* io.peft4j.benchmarks.TokenizerThroughput DIR...
 * }</pre>
 */
public final class TokenizerThroughput {
    private TokenizerThroughput() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: TokenizerThroughput MODEL_DIR...   (directories with tokenizer.json, vocab.txt or vocab.json + merges.txt)");
            System.exit(2);
        }
        List<String> corpus = corpus();
        long chars = corpus.stream().mapToLong(String::length).sum();
        System.out.printf("corpus: spam dev set, %d texts, %d characters%n", corpus.size(), chars);
        var cpu = ManagementFactory.getThreadMXBean();
        for (String a : args) {
            Path dir = Path.of(a);
            long c0 = cpu.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            Tokenizer tok = Tokenizers.load(dir);
            double coldMs = (System.nanoTime() - t0) / 1e6, coldCpuMs = (cpu.getCurrentThreadCpuTime() - c0) / 1e6;
            double warm = Double.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                long t = System.nanoTime();
                Tokenizers.load(dir);
                warm = Math.min(warm, (System.nanoTime() - t) / 1e6);
            }
            long tokens = 0;
            for (String s : corpus) tokens += tok.encodeText(s).length;   // warm-up
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 5; rep++) {
                long t = System.nanoTime();
                for (String s : corpus) tok.encodeText(s);
                best = Math.min(best, (System.nanoTime() - t) / 1e9);
            }
            System.out.printf("%s (%s, %d ids): load cold %.0f ms (%.0f ms CPU), warm %.0f ms; %d tokens, best of 5: %.3f s = %.0f tokens/s, %.1f MB/s%n",
                    dir.getFileName(), tok.getClass().getSimpleName(), tok.vocabSize(), coldMs, coldCpuMs, warm, tokens, best, tokens / best, chars / best / 1e6);
        }
    }

    static List<String> corpus() throws Exception {
        List<String> out = new ArrayList<>();
        var in = TokenizerThroughput.class.getClassLoader().getResourceAsStream("io/peft4j/datasets/spam/dev.jsonl");
        if (in == null) throw new IllegalStateException("peft-datasets' spam dev set is not on the class path");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) continue;
                JsonNode n = Json.parse("spam/dev.jsonl", line);
                out.add(n.path("subject").asText("") + "\n" + n.path("text").asText(""));
            }
        }
        return out;
    }
}
