package io.peft4j.core.model;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.io.ShardedSafeTensors;
import io.peft4j.core.io.TfBundle;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Loads a base model from a directory: {@code config.json} plus its weights. */
public final class Models {
    private static final Logger LOG = LoggerFactory.getLogger(Models.class);

    private static volatile boolean threadsChecked;

    private Models() {
    }

    /**
     * Warns once when ND4J's threads will spin-wait. ND4J's OpenMP threads keep the cores busy after every
     * elementwise op while the BLAS threads of the next matrix product need them, and OpenBLAS's threads
     * spin for 2^28 cycles (about 0.1 s) after every product while the next elementwise op needs the cores.
     * With {@code GOMP_SPINCOUNT=0} BERT-base passes ran about 1.5x faster on a 2-core machine, and with
     * {@code OPENBLAS_THREAD_TIMEOUT=16} as well (2^16 cycles, about 25 us: long enough to bridge the small
     * products of one batched attention matmul, 2^4 was not) another 1.1x, forward and LoRA step. {@code ./peft},
     * the tests and the benchmarks set both. The variables must be set before the JVM starts.
     */
    static void checkThreadSettings() {
        if (threadsChecked) return;
        threadsChecked = true;
        java.util.List<String> missing = new java.util.ArrayList<>();
        if (System.getenv("GOMP_SPINCOUNT") == null && System.getenv("OMP_WAIT_POLICY") == null) missing.add("GOMP_SPINCOUNT=0");
        if (System.getenv("OPENBLAS_THREAD_TIMEOUT") == null) missing.add("OPENBLAS_THREAD_TIMEOUT=16");
        if (!missing.isEmpty()) {
            LOG.warn("ND4J's threads will spin between ops and take the cores from each other: start the JVM with "
                    + String.join(" ", missing) + " in the environment for faster passes (about 1.5x on 2 cores)");
        }
    }

    /**
     * Opens the weights in {@code dir}: {@code model.safetensors}, a sharded
     * {@code model.safetensors.index.json}, or a TensorFlow bundle {@code variables/variables.index}
     * (also {@code model.ckpt.index} / {@code bert_model.ckpt.index}).
     */
    public static Checkpoint openCheckpoint(Path dir) {
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) return SafeTensors.open(dir.resolve("model.safetensors"));
        if (Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) return ShardedSafeTensors.open(dir.resolve("model.safetensors.index.json"));
        for (String tf : new String[]{"variables/variables.index", "model.ckpt.index", "bert_model.ckpt.index"}) {
            if (Files.isRegularFile(dir.resolve(tf))) return TfBundle.open(dir.resolve(tf));
        }
        throw PeftException.inFile(dir, "no weights found (model.safetensors, model.safetensors.index.json or a TensorFlow variables.index)");
    }

    /**
     * The model a config describes, built without weights: its hook sites and parameter count are real,
     * its forward cannot run. Parameter accounting ({@code peft params}) uses it. A BERT described this
     * way is Hugging Face's {@code BertModel}: with the pooler, without the masked-LM head; a decoder is its
     * causal-LM model ({@code GPT2LMHeadModel}, {@code LlamaForCausalLM}: an untied LM head counts).
     */
    public static TransformerModel describe(ModelConfig cfg) {
        return cfg.architecture().builder().build(cfg, null, Precision.of(DataType.FLOAT));
    }

    /**
     * Writes the model into the existing directory {@code dir} as Hugging Face lays one out: {@code config.json}
     * and {@code model.safetensors} ({@link TransformerModel#huggingFaceStateDict}), which {@link #load} and
     * Hugging Face's {@code from_pretrained} read back. Not atomic by itself: callers write into a temporary
     * directory ({@link io.peft4j.core.io.AtomicFiles#writeDirectory}), as {@code PeftModel.save} does.
     */
    public static void writeCheckpoint(TransformerModel m, Path dir) {
        Json.write(dir.resolve("config.json"), m.config().toJson());
        SafeTensors.write(dir.resolve("model.safetensors"), m.huggingFaceStateDict(), Map.of("format", "pt"));
    }

    /**
     * Every end-of-sequence id a decoder in {@code dir} stops at: {@code eos_token_id} of {@code config.json} and of
     * {@code generation_config.json} (if there is one), each a single id or a list (Llama 3 Instruct lists end of text
     * and end of turn), together with {@code tokenizerEos} when it is not negative; sorted, each once.
     */
    public static int[] eosTokenIds(Path dir, int tokenizerEos) {
        java.util.TreeSet<Integer> ids = new java.util.TreeSet<>();
        if (tokenizerEos >= 0) ids.add(tokenizerEos);
        for (String f : new String[]{"config.json", "generation_config.json"}) {
            Path file = dir.resolve(f);
            if (!Files.isRegularFile(file)) continue;
            com.fasterxml.jackson.databind.JsonNode v = Json.read(file).get("eos_token_id");
            if (v == null || v.isNull()) continue;
            for (com.fasterxml.jackson.databind.JsonNode id : v.isArray() ? v : List.of(v)) {
                if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < -1) {
                    throw PeftException.inFile(file, "field 'eos_token_id' must be a token id or a list of them, got " + v);
                }
                if (id.asInt() >= 0) ids.add(id.asInt());
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Loads {@code dir/config.json} and the weights as frozen {@code type} constants. */
    public static TransformerModel load(Path dir, DataType type) {
        return load(dir, Precision.of(type));
    }

    /**
     * Loads {@code dir/config.json} and the weights as frozen constants, the weight matrices kept as
     * {@code precision.storage()} (BF16 or F16 halve their memory) and computed with in {@code precision.compute()}.
     */
    public static TransformerModel load(Path dir, Precision precision) {
        if (!Files.isDirectory(dir)) throw PeftException.inFile(dir, "not a model directory");
        checkThreadSettings();
        Path cfgFile = dir.resolve("config.json");
        ModelConfig cfg = ModelConfig.load(cfgFile);
        long t0 = System.nanoTime();
        try (Checkpoint ckpt = openCheckpoint(dir)) {
            TransformerModel m;
            try {
                m = cfg.architecture().builder().build(cfg, ckpt, precision);
            } catch (PeftException e) {
                throw e.with("the model as " + cfgFile + " describes it");     // a weight that does not fit names both files
            }
            LOG.info("loaded {} ({} layers, d={}, {} parameters, weights {}) from {} in {} ms", cfg.modelType(), cfg.layers(), cfg.hidden(),
                    m.parameterCount(), precision.storage(), dir, (System.nanoTime() - t0) / 1_000_000);
            return m;
        }
    }
}
