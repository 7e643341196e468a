package io.peft4j.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.task.TaskConfig;
import io.peft4j.serve.AdapterRegistry;
import io.peft4j.serve.http.InferenceServer;
import org.nd4j.linalg.api.buffer.DataType;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code peft serve} under load on loopback: an {@link InferenceServer} over an {@link AdapterRegistry} on BERT-base with
 * LoRA classifiers (r = 8 on query and value, a head), and a load generator of 1, 8 or 32 closed-loop clients, each
 * sending one short text at a time for one of 1 or 100 adapters drawn at random. Requests/s and p50 / p99 latency.
 */
final class ServerLoadTest {
    private static final ObjectMapper M = new ObjectMapper();
    private static final List<String> WORDS = List.of("free", "offer", "meeting", "tomorrow", "win", "cash", "report", "attached", "click",
            "here", "lunch", "project", "prize", "urgent", "schedule", "invoice", "account", "thanks", "call", "now");

    private ServerLoadTest() {
    }

    /** The markdown section: one row per (adapters in use, clients). */
    static String run(Path modelDir, TransformerModel bert, Tokenizer tok, double seconds) throws Exception {
        Path root = Files.createTempDirectory("peft4j-load");
        for (int i = 0; i < 100; i++) classifier(modelDir, bert, tok, root.resolve("c" + i), i);
        StringBuilder md = new StringBuilder("## The HTTP server under load\n\n"
                + "`InferenceServer` over `AdapterRegistry` (at most 32 rows a batch, 5 ms batching wait, 100 adapters kept loaded) on "
                + "BERT-base; each adapter a LoRA classifier (r = 8 on query and value, a head; 32-token inputs). Closed-loop clients "
                + "on loopback (Java's HttpClient, HTTP/1.1), each sending one text of 8 words at a time for an adapter drawn at "
                + "random from those in use, for " + (int) seconds + " s after a warm-up.\n\n"
                + "| adapters in use | clients | requests/s | p50 (ms) | p99 (ms) | mean rows per batch |\n|---:|---:|---:|---:|---:|---:|\n");
        AdapterRegistry registry = AdapterRegistry.open(modelDir, AdapterRegistry.Options.builder().maxBatchRows(32).maxWaitMillis(5)
                .maxLoadedAdapters(100).queueCapacity(1024).build());
        AtomicLong batches = new AtomicLong(), rows = new AtomicLong();
        registry.addBatchListener((kind, requests, n) -> {
            batches.incrementAndGet();
            rows.addAndGet(n);
        });
        for (int i = 0; i < 100; i++) registry.register("c" + i, root.resolve("c" + i));
        InferenceServer server = InferenceServer.start(registry, InferenceServer.Config.defaults().withPort(0).withMaxConcurrentRequests(256));
        try {
            for (int inUse : new int[]{1, 100}) {
                for (int clients : new int[]{1, 8, 32}) {
                    load(server.uri(), inUse, clients, Math.min(5, seconds / 4));               // warm-up: loads the adapters in use
                    batches.set(0);
                    rows.set(0);
                    Result r = load(server.uri(), inUse, clients, seconds);
                    md.append(String.format(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.1f | %.1f |%n", inUse, clients, r.perSecond(), r.p50(), r.p99(),
                            (double) rows.get() / Math.max(1, batches.get())));
                }
            }
        } finally {
            server.stop();
        }
        return md.append("\n").toString();
    }

    record Result(double perSecond, double p50, double p99) {
    }

    /** {@code clients} closed-loop clients for {@code seconds}; latencies of the requests that finished in time. */
    static Result load(URI uri, int inUse, int clients, double seconds) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<List<Double>>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            long seed = c;
            futures.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                List<Double> lat = new ArrayList<>();
                while (System.nanoTime() < end) {
                    StringBuilder text = new StringBuilder();
                    for (int w = 0; w < 8; w++) text.append(w == 0 ? "" : " ").append(WORDS.get(rnd.nextInt(WORDS.size())));
                    String body = M.writeValueAsString(Map.of("adapter", "c" + rnd.nextInt(inUse), "inputs", List.of(text.toString())));
                    long s = System.nanoTime();
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri.resolve("/v1/classify")).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
                    lat.add((System.nanoTime() - s) / 1e6);
                }
                return lat;
            }));
        }
        List<Double> all = new ArrayList<>();
        for (Future<List<Double>> f : futures) all.addAll(f.get());
        double wall = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        Collections.sort(all);
        return new Result(all.size() / wall, percentile(all, 0.50), percentile(all, 0.99));
    }

    static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) return Double.NaN;
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }

    /** A LoRA classifier directory with random (non-zero) adapter and head weights, as {@code peft train --output} lays it out. */
    static void classifier(Path modelDir, TransformerModel bert, Tokenizer tok, Path out, long seed) {
        PeftModel pm = PeftModel.of(bert, modelDir.toString());
        Adapter a = pm.add(PeftModel.DEFAULT, ServingBenchmarks.lora(), seed);
        int i = 0;
        for (Tensor p : a.parameters().values()) p.value().addi(Init.normal(seed * 31 + i++, 0.02, p.dataType(), p.shape()));
        pm.setHead(ClassificationHead.classification(Pooling.CLS, List.of("ham", "spam"), bert.config().hidden(), DataType.FLOAT, seed));
        HeadClassifier clf = new HeadClassifier(pm, new TextEncoder(tok, List.of("text"), 32, Truncation.END));
        TaskConfig task = new TaskConfig(modelDir.toString(), List.of("ham", "spam"), DataSpec.defaults().withTextFields("text"), 32, Truncation.END,
                "lora", Map.of());
        ClassifierDirectory.write(out, pm, clf, task, null, modelDir);
        pm.remove(PeftModel.DEFAULT);
    }
}
