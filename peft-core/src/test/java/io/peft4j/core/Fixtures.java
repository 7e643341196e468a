package io.peft4j.core;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.io.Json;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The conformance fixtures (test resources, copied from the independent reference) and comparisons. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path dir(String name) {
        return resource("fixtures/" + name);
    }

        /**
     * A byte-level BPE vocabulary that fits gpt2-tiny's 97 ids: id i (i < 94) is the character {@code (char) (33 + i)}
     * ('!' .. '~'), id 94 the space ('Ġ'), 95 and 96 the merges {@code Ġa}, {@code Ġb} ({@link #GPT2_TINY_MERGES}); so a text of
     * printable characters without spaces is one token per character. The other byte symbols (GPT-2's bytes_to_unicode)
     * follow at ids 97.., which the model's vocabulary never produces: a byte-level vocabulary must hold all 256.
     */
    public static java.util.Map<String, Integer> gpt2TinyVocab() {
        java.util.Map<String, Integer> vocab = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 94; i++) vocab.put(String.valueOf((char) (33 + i)), i);
        vocab.put("\u0120", 94);
        vocab.put("\u0120a", 95);
        vocab.put("\u0120b", 96);
        for (int b = 0xA1; b <= 0xFF; b++) if (b != 0xAD) vocab.put(String.valueOf((char) b), vocab.size());
        for (int n = 0; n < 68; n++) vocab.putIfAbsent(String.valueOf((char) (256 + n)), vocab.size());
        return vocab;
    }

    /** The merges of {@link #gpt2TinyVocab()}, as {@code merges.txt} lists them (without its version line). */
    public static final java.util.List<String> GPT2_TINY_MERGES = java.util.List.of("\u0120 a", "\u0120 b");

/**
     * A test resource as a path: from the class path when it is a directory there (tests of this module),
     * else from this module's source tree (other modules' tests, which see this module as a jar).
     */
    public static Path resource(String path) {
        var url = Fixtures.class.getResource("/" + path);
        if (url != null && url.getProtocol().equals("file")) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        for (String root : new String[]{"../peft-core/src/test/resources", "peft-core/src/test/resources", "src/test/resources"}) {
            Path p = Path.of(root, path);
            if (java.nio.file.Files.exists(p)) return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("test resource " + path + " not found");
    }

    /** A copy of adapter fixture {@code name} under {@code dir} whose {@code adapter_config.json} has {@code field} set to {@code value}. */
    public static Path adapterWith(String name, Path dir, String field, Object value) {
        try {
            Path out = java.nio.file.Files.createDirectories(dir.resolve(name + "-" + field));
            for (String f : new String[]{"adapter_config.json", "adapter_model.safetensors"}) {
                java.nio.file.Files.copy(dir(name).resolve(f), out.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(out.resolve("adapter_config.json"));
            cfg.set(field, Json.MAPPER.valueToTree(value));
            Json.write(out.resolve("adapter_config.json"), cfg);
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Asserts that loading adapter fixture {@code name} with {@code field} set to {@code value} (a size no file backs)
     * onto gpt2-tiny is refused by a {@link PeftException} naming the config and the weights before anything is
     * allocated from it, and leaves no adapter installed (issue 14: such fields allocated gigabytes).
     */
    public static void assertUnbackedSizeRefused(String name, Path tmp, String field, Object value) {
        Path dir = adapterWith(name, tmp, field, value);
        var m = io.peft4j.core.peft.PeftModel.of(io.peft4j.core.model.Models.load(dir("gpt2-tiny"), org.nd4j.linalg.api.buffer.DataType.FLOAT));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.load(dir, "default")).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(dir.resolve("adapter_config.json").toString())
                .hasMessageContaining("describes more parameters than the").hasMessageContaining("adapter_model.safetensors");
        assertThat(m.adapters()).isEmpty();
    }

    /**
     * The examples one after another in one packed row, as {@code Packing} lays them out: segments 1, 2, ... and no loss
     * on a segment's first token (an independent construction for the packing tests).
     */
    public static io.peft4j.core.train.Example.Lm packRow(java.util.List<io.peft4j.core.train.Example.Lm> examples) {
        int n = examples.stream().mapToInt(e -> e.ids().length).sum();
        int[] ids = new int[n], mask = new int[n], seg = new int[n];
        int at = 0;
        for (int k = 0; k < examples.size(); k++) {
            io.peft4j.core.train.Example.Lm e = examples.get(k);
            for (int j = 0; j < e.ids().length; j++, at++) {
                ids[at] = e.ids()[j];
                mask[at] = j == 0 ? 0 : e.lossMask()[j];
                seg[at] = k + 1;
            }
        }
        return new io.peft4j.core.train.Example.Lm(ids, mask, seg);
    }

    public static JsonNode expected(String model) {
        return Json.read(dir(model).resolve("expected.json"));
    }

    public static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    public static double[][] matrix(JsonNode arr) {
        double[][] out = new double[arr.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new double[arr.get(i).size()];
            for (int j = 0; j < out[i].length; j++) out[i][j] = arr.get(i).get(j).asDouble();
        }
        return out;
    }

    /** Asserts every element of {@code actual} (rank 2) is within {@code tol} of {@code expected}. */
    public static void assertClose(INDArray actual, double[][] expected, double tol) {
        assertThat(actual.rows()).isEqualTo(expected.length);
        assertThat(actual.columns()).isEqualTo(expected[0].length);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                worst = Math.max(worst, Math.abs(actual.getDouble(i, j) - expected[i][j]));
            }
        }
        assertThat(worst).as("max abs difference").isLessThanOrEqualTo(tol);
    }

    public static INDArray rows(INDArray a2, int from, int to) {
        return a2.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to), org.nd4j.linalg.indexing.NDArrayIndex.all());
    }

    public static INDArray vector(JsonNode arr) {
        double[] d = new double[arr.size()];
        for (int i = 0; i < d.length; i++) d[i] = arr.get(i).asDouble();
        return Nd4j.createFromArray(d);
    }

    /**
     * Overwrites every parameter of {@code a} with N(0, 0.3²) draws from {@code seed}, so that a freshly made adapter (often
     * the identity at first) changes the model.
     */
    public static void randomise(io.peft4j.core.peft.Adapter a, long seed) {
        java.util.Random r = new java.util.Random(seed);
        for (var t : a.parameters().values()) {
            INDArray v = t.value();
            double[] d = new double[(int) v.length()];
            for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian() * 0.3;
            v.assign(Nd4j.create(d, v.shape(), 'c'));
        }
    }

    /** A learnable toy language for causal-LM training: each of {@code n} sequences counts up from a random start (mod 90). */
    public static java.util.List<io.peft4j.core.train.Example.Lm> counting(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        java.util.List<io.peft4j.core.train.Example.Lm> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int start = 1 + r.nextInt(80), len = 5 + r.nextInt(4);
            int[] ids = new int[len];
            for (int j = 0; j < len; j++) ids[j] = 1 + (start + j) % 90;
            out.add(io.peft4j.core.train.Example.Lm.all(ids));
        }
        return out;
    }
}
