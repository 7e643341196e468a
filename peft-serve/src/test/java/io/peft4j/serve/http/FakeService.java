package io.peft4j.serve.http;

import io.peft4j.core.infer.FillMask;
import io.peft4j.serve.InferenceService;
import io.peft4j.serve.ServeException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * An {@link InferenceService} for server tests: deterministic answers, latency the test controls (a gate the answers wait
 * for), and a record of every call.
 *
 * <ul>
 *   <li>classify: label {@code pos} when the input's text fields contain "good", else {@code neg};</li>
 *   <li>fill-mask: the first top-k of a fixed list of fillers;</li>
 *   <li>generate: {@code "<prompt> continued"}, finish reason {@code length};</li>
 *   <li>an input longer than {@link #MAX_CHARS} characters fails with BAD_INPUT; an unknown adapter with UNKNOWN_ADAPTER;
 *   while {@link #overloaded} is set every request fails with OVERLOADED.</li>
 * </ul>
 */
final class FakeService implements InferenceService {
    static final int MAX_CHARS = 100;
    static final List<String> FILLERS = List.of("paris", "lyon", "nice", "lille", "metz");

    final boolean decoder;
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<List<Map<String, String>>> classifyInputs = new CopyOnWriteArrayList<>();
    final List<GenerationParams> generationParams = new CopyOnWriteArrayList<>();
    final List<Path> loadedDirs = new CopyOnWriteArrayList<>();
    /** Released once per inference call, when it reaches the backend. */
    final Semaphore entered = new Semaphore(0);
    /** While set, answers wait for it to open. */
    volatile CountDownLatch gate;
    volatile boolean overloaded;
    volatile boolean closed;
    private final Map<String, AdapterInfo> adapters = Collections.synchronizedMap(new LinkedHashMap<>());
    private final List<BatchListener> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-backend");
        t.setDaemon(true);
        return t;
    });

    FakeService(boolean decoder, String... adapterNames) {
        this.decoder = decoder;
        for (String n : adapterNames) adapters.put(n, info(n, Path.of("/nowhere", n), true));
    }

    private static AdapterInfo info(String name, Path dir, boolean loaded) {
        return new AdapterInfo(name, "lora", "classify", List.of("neg", "pos"), dir, 1234, loaded, false);
    }

    @Override
    public CompletableFuture<List<Classification>> classify(String adapter, List<Map<String, String>> inputs) {
        calls.add("classify " + adapter + " " + inputs.size());
        classifyInputs.add(inputs);
        return run("classify", adapter, inputs.stream().map(m -> String.join(" ", m.values())).toList(), () -> {
            List<Classification> out = new ArrayList<>();
            for (Map<String, String> in : inputs) {
                boolean good = String.join(" ", in.values()).contains("good");
                Map<String, Double> p = new LinkedHashMap<>();
                p.put("neg", good ? 0.25 : 0.75);
                p.put("pos", good ? 0.75 : 0.25);
                out.add(new Classification(good ? "pos" : "neg", p));
            }
            return out;
        });
    }

    @Override
    public CompletableFuture<List<List<FillMask.Prediction>>> fillMask(String adapter, List<String> texts, int topK) {
        calls.add("fill-mask " + adapter + " " + texts.size() + " " + topK);
        return run("fill-mask", adapter, texts, () -> {
            List<List<FillMask.Prediction>> out = new ArrayList<>();
            for (String ignored : texts) {
                List<FillMask.Prediction> ps = new ArrayList<>();
                for (int i = 0; i < Math.min(topK, FILLERS.size()); i++) ps.add(new FillMask.Prediction(FILLERS.get(i), 100 + i, 0.5 / (i + 1)));
                out.add(ps);
            }
            return out;
        });
    }

    @Override
    public CompletableFuture<List<Generation>> generate(String adapter, List<String> prompts, GenerationParams params) {
        calls.add("generate " + adapter + " " + prompts.size());
        generationParams.add(params);
        return run("generate", adapter, prompts, () -> prompts.stream().map(p -> new Generation(p + " continued", 1, "length")).toList());
    }

    private <T> CompletableFuture<T> run(String kind, String adapter, List<String> texts, java.util.function.Supplier<T> answer) {
        entered.release();
        if (closed) return CompletableFuture.failedFuture(new ServeException(ServeException.Kind.OVERLOADED, "closed"));
        if (overloaded) return CompletableFuture.failedFuture(new ServeException(ServeException.Kind.OVERLOADED, "the queue is full (256 requests)"));
        if (adapter != null && !adapters.containsKey(adapter)) {
            return CompletableFuture.failedFuture(new ServeException(ServeException.Kind.UNKNOWN_ADAPTER, "no adapter named '" + adapter + "'"));
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).length() > MAX_CHARS) {
                return CompletableFuture.failedFuture(new ServeException(ServeException.Kind.BAD_INPUT,
                        "input " + i + " is " + texts.get(i).length() + " tokens, longer than the model's " + MAX_CHARS));
            }
        }
        CountDownLatch g = gate;
        return CompletableFuture.supplyAsync(() -> {
            if (g != null) {
                try {
                    g.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (BatchListener l : listeners) l.batch(kind, 1, texts.size());
            return answer.get();
        }, workers);
    }

    @Override
    public List<AdapterInfo> adapters() {
        synchronized (adapters) {
            return List.copyOf(adapters.values());
        }
    }

    @Override
    public AdapterInfo load(String name, Path dir) {
        calls.add("load " + name);
        if (dir.getFileName().toString().equals("broken")) {
            throw new io.peft4j.core.PeftException(dir.resolve("adapter_config.json") + ": not a JSON object");
        }
        loadedDirs.add(dir);
        AdapterInfo i = info(name, dir, true);
        adapters.put(name, i);
        return i;
    }

    @Override
    public void unload(String name) {
        calls.add("unload " + name);
        if (adapters.remove(name) == null) throw new ServeException(ServeException.Kind.UNKNOWN_ADAPTER, "no adapter named '" + name + "'");
    }

    @Override
    public void addBatchListener(BatchListener listener) {
        listeners.add(listener);
    }

    @Override
    public String modelType() {
        return decoder ? "gpt2" : "bert";
    }

    @Override
    public boolean isDecoder() {
        return decoder;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        calls.add("close");
        workers.shutdown();
    }
}
