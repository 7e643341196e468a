package io.peft4j.serve.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.peft4j.serve.InferenceService;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The server's metrics, rendered in Prometheus text format at {@code GET /metrics}:
 * <ul>
 *   <li>{@code peft_http_requests_total{endpoint, method, status}}: requests answered;</li>
 *   <li>{@code peft_http_request_duration_seconds{endpoint, method}}: a latency histogram (buckets 5 ms to 60 s);</li>
 *   <li>{@code peft_http_requests_in_flight}: requests being answered;</li>
 *   <li>{@code peft_batch_requests{kind}} and {@code peft_batch_rows{kind}}: histograms of the requests and rows in each
 *   batch the backend ran ({@code kind}: classify, fill-mask, generate, as the backend names them);</li>
 *   <li>{@code peft_adapters_loaded} and {@code peft_adapters_registered}: adapters in memory, and known.</li>
 * </ul>
 * {@code endpoint} is the route's template ({@code /v1/adapters/{name}}), or {@code unmatched} for a path no route
 * serves, so a client cannot make a new series per URL.
 */
final class ServerMetrics {
    static final String UNMATCHED = "unmatched";
    private static final Duration[] LATENCY_BUCKETS = seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    ServerMetrics(InferenceService backend, Supplier<Number> inFlight) {
        Gauge.builder("peft.http.requests.in.flight", inFlight).description("HTTP requests being answered").register(registry);
        Gauge.builder("peft.adapters.loaded", backend, b -> count(b, true)).description("Adapters in memory").register(registry);
        Gauge.builder("peft.adapters.registered", backend, b -> count(b, false)).description("Adapters known, loaded or not").register(registry);
        backend.addBatchListener(this::batch);
    }

    private static double count(InferenceService b, boolean loadedOnly) {
        try {
            return b.adapters().stream().filter(a -> !loadedOnly || a.loaded()).count();
        } catch (RuntimeException e) {
            return Double.NaN; // a closed backend: no value rather than a failed scrape
        }
    }

    /** One request answered. */
    void request(String endpoint, String method, int status, long nanos) {
        Counter.builder("peft.http.requests").description("HTTP requests answered, by route, method and status")
                .tags("endpoint", endpoint, "method", method, "status", Integer.toString(status)).register(registry).increment();
        Timer.builder("peft.http.request.duration").description("HTTP request latency, from the request's arrival to its answer")
                .tags("endpoint", endpoint, "method", method).serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    private void batch(String kind, int requests, int rows) {
        String k = kind == null ? "unknown" : kind;
        DistributionSummary.builder("peft.batch.requests").description("Requests in each batch the backend ran")
                .tag("kind", k).serviceLevelObjectives(BATCH_BUCKETS).register(registry).record(requests);
        DistributionSummary.builder("peft.batch.rows").description("Rows (inputs) in each batch the backend ran")
                .tag("kind", k).serviceLevelObjectives(BATCH_BUCKETS).register(registry).record(rows);
    }

    /** The Prometheus text exposition (format 0.0.4). */
    String scrape() {
        return registry.scrape();
    }

    private static Duration[] seconds(double... s) {
        Duration[] d = new Duration[s.length];
        for (int i = 0; i < s.length; i++) d[i] = Duration.ofNanos(Math.round(s[i] * 1e9));
        return d;
    }
}
