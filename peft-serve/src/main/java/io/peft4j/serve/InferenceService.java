package io.peft4j.serve;

import io.peft4j.core.infer.FillMask;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What a server needs of one frozen base serving many adapters: requests by adapter name, answered asynchronously (a
 * request may wait a little to share a batch with others), and the adapter set changed while serving.
 * {@link AdapterRegistry} is the implementation; the HTTP server ({@code peft serve}) speaks only to this interface.
 *
 * <p>Failures complete the returned future exceptionally (or are thrown by the synchronous methods) with a
 * {@link ServeException} whose {@link ServeException.Kind} says which HTTP status fits: an unknown adapter, bad input, a
 * full queue, a timeout.
 */
public interface InferenceService extends AutoCloseable {

    /** One adapter the service knows: loaded (in memory) or only registered (loaded lazily on first request). */
    record AdapterInfo(String name, String method, String task, List<String> labels, Path dir, long trainableParameters,
                       boolean loaded, boolean merged) {
    }

    /** A classification: the most probable label and every label's probability, in the classifier's label order. */
    record Classification(String label, Map<String, Double> probabilities) {
    }

    /** Generated text (the new tokens only, decoded), how many tokens, and why it stopped: {@code "eos"}, {@code "stop"} or {@code "length"}. */
    record Generation(String text, int tokens, String finishReason) {
    }

    /** Generation settings; temperature 0 is greedy. */
    record GenerationParams(int maxNewTokens, double temperature, long seed, List<String> stop) {
    }

    /**
     * Classifies each input (its text fields by name) with adapter {@code adapter}'s classifier (a head or a template and
     * verbalizer). A classifier that reads one text field also takes {@code {"text": ...}} (a server's bare string) as
     * that field, whatever its name.
     */
    CompletableFuture<List<Classification>> classify(String adapter, List<Map<String, String>> inputs);

    /** Top-k fillers of each text's mask token, by the base masked LM with {@code adapter} applied (null: the base alone). */
    CompletableFuture<List<List<FillMask.Prediction>>> fillMask(String adapter, List<String> texts, int topK);

    /** Continues each prompt with a decoder base and {@code adapter} (null: the base alone). */
    CompletableFuture<List<Generation>> generate(String adapter, List<String> prompts, GenerationParams params);

    /** Every adapter known, loaded or registered, by name. */
    List<AdapterInfo> adapters();

    /**
     * Loads the adapter directory {@code dir} under {@code name}, or replaces the adapter of that name atomically (requests
     * already accepted finish on the old version; later ones see the new one). Faults name the file.
     */
    AdapterInfo load(String name, Path dir);

    /** Unloads and forgets adapter {@code name}; requests already accepted for it still finish. */
    void unload(String name);

    /**
     * Calls {@code listener} with the number of requests and of rows in every batch the service runs, on the thread that
     * ran it (for metrics: keep it short).
     */
    void addBatchListener(BatchListener listener);

    /** Told the size of each batch run. */
    @FunctionalInterface
    interface BatchListener {
        void batch(String kind, int requests, int rows);
    }

    /** The base model's type ({@code bert}, {@code gpt2}, {@code llama}, ...) and whether it is a decoder. */
    String modelType();

    boolean isDecoder();

    /**
     * Whether the service has stopped serving: {@link #close} was called, or it cannot serve any more (its worker
     * stopped). A server's health check answers 503 then.
     */
    boolean isClosed();

    /** Stops accepting requests, finishes those accepted, and frees the workers. */
    @Override
    void close();
}
