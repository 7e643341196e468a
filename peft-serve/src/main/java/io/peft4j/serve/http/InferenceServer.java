package io.peft4j.serve.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.peft4j.core.PeftException;
import io.peft4j.core.infer.FillMask;
import io.peft4j.serve.InferenceService;
import io.peft4j.serve.InferenceService.AdapterInfo;
import io.peft4j.serve.InferenceService.Classification;
import io.peft4j.serve.InferenceService.Generation;
import io.peft4j.serve.ServeException;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The HTTP inference server of {@code peft serve}: JSON requests in, JSON answers out, for one
 * {@link InferenceService} (one frozen base serving many adapters). See {@code docs/serving.md} for the API.
 *
 * <pre>{@code
 * try (InferenceServer s = InferenceServer.start(backend, InferenceServer.Config.defaults().withPort(0))) {
 *     System.err.println("listening on " + s.uri());
 *     s.awaitStopped();
 * }
 * }</pre>
 *
 * <p>Limits: request bodies are bounded (413); at most {@link Config#maxConcurrentRequests} {@code /v1} requests are
 * answered at once (more: 503); an inference request not answered within {@link Config#requestTimeout} gets 504. Every
 * error is {@code {"error": {"type": ..., "message": ...}}}, never a stack trace.
 *
 * <p>{@link #stop()} shuts down gracefully: the listening socket closes (new connections are refused), requests already
 * received are answered (for up to {@link Config#shutdownTimeout}), then the backend is closed. The server owns the
 * backend from {@link #start} on.
 */
public final class InferenceServer implements AutoCloseable {
    /** The text field a bare string input of {@code /v1/classify} is passed to the backend under. */
    public static final String SINGLE_TEXT_FIELD = "text";
    static final String JSON_TYPE = "application/json";
    private static final String PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String ENDPOINT_ATTRIBUTE = "peft4j.endpoint";
    private static final Logger LOG = LoggerFactory.getLogger(InferenceServer.class);

    /**
     * How the server listens and what it accepts.
     *
     * @param host                  the address to bind ({@code 127.0.0.1} by default: loopback only)
     * @param port                  the port; 0 picks a free one ({@link #port()} tells which)
     * @param adaptersRoot          the only directory {@code PUT /v1/adapters/{name}} may load from; null: none (403)
     * @param maxBodyBytes          the largest request body (larger: 413)
     * @param requestTimeout        how long an inference request may take before it is answered 504
     * @param maxConcurrentRequests the most {@code /v1} requests answered at once (more: 503)
     * @param shutdownTimeout       how long {@link #stop()} waits for requests in flight before closing them
     */
    public record Config(String host, int port, Path adaptersRoot, long maxBodyBytes, Duration requestTimeout,
                         int maxConcurrentRequests, Duration shutdownTimeout) {
        public Config {
            Objects.requireNonNull(host, "host");
            if (host.isBlank()) throw new IllegalArgumentException("the host is blank");
            if (port < 0 || port > 65_535) throw new IllegalArgumentException("the port must be between 0 and 65535, not " + port);
            if (maxBodyBytes <= 0) throw new IllegalArgumentException("the largest request body must be positive, not " + maxBodyBytes);
            if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException("the request timeout must be positive, not " + requestTimeout);
            }
            if (maxConcurrentRequests <= 0) throw new IllegalArgumentException("the most concurrent requests must be positive, not " + maxConcurrentRequests);
            if (shutdownTimeout == null || shutdownTimeout.isNegative()) throw new IllegalArgumentException("the shutdown timeout must not be negative");
        }

        /** Loopback, port 8080, no adapters root, 1 MiB bodies, 30 s per request, 64 concurrent requests, 60 s to drain. */
        public static Config defaults() {
            return new Config("127.0.0.1", 8080, null, 1 << 20, Duration.ofSeconds(30), 64, Duration.ofSeconds(60));
        }

        public Config withHost(String h) {
            return new Config(h, port, adaptersRoot, maxBodyBytes, requestTimeout, maxConcurrentRequests, shutdownTimeout);
        }

        public Config withPort(int p) {
            return new Config(host, p, adaptersRoot, maxBodyBytes, requestTimeout, maxConcurrentRequests, shutdownTimeout);
        }

        public Config withAdaptersRoot(Path root) {
            return new Config(host, port, root, maxBodyBytes, requestTimeout, maxConcurrentRequests, shutdownTimeout);
        }

        public Config withMaxBodyBytes(long n) {
            return new Config(host, port, adaptersRoot, n, requestTimeout, maxConcurrentRequests, shutdownTimeout);
        }

        public Config withRequestTimeout(Duration d) {
            return new Config(host, port, adaptersRoot, maxBodyBytes, d, maxConcurrentRequests, shutdownTimeout);
        }

        public Config withMaxConcurrentRequests(int n) {
            return new Config(host, port, adaptersRoot, maxBodyBytes, requestTimeout, n, shutdownTimeout);
        }

        public Config withShutdownTimeout(Duration d) {
            return new Config(host, port, adaptersRoot, maxBodyBytes, requestTimeout, maxConcurrentRequests, d);
        }
    }

    private final InferenceService backend;
    private final Config config;
    private final AdaptersRoot root;
    /** Bound to a loopback address: requests must name a loopback host too (no DNS rebinding). */
    private final boolean loopbackOnly;
    private final Semaphore permits;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ServerMetrics metrics;
    /** Writes answers, so that no backend worker thread ever writes to a (slow) client. */
    private final ExecutorService responder;
    private final Javalin app;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private InferenceServer(InferenceService backend, Config config) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.config = config;
        this.root = config.adaptersRoot() == null ? null : AdaptersRoot.of(config.adaptersRoot());
        this.loopbackOnly = isLoopback(config.host());
        this.permits = new Semaphore(config.maxConcurrentRequests());
        this.metrics = new ServerMetrics(backend, inFlight::get);
        AtomicInteger threads = new AtomicInteger();
        this.responder = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "peft-serve-respond-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.app = Javalin.create(this::configure);
    }

    /**
     * Starts serving {@code backend}; returns once the port is bound.
     *
     * @throws PeftException when the address cannot be bound (in use, not local, not resolvable)
     * @throws IllegalArgumentException when the adapters root is not a directory
     */
    public static InferenceServer start(InferenceService backend, Config config) {
        InferenceServer s = new InferenceServer(backend, config);
        try {
            s.app.start();
        } catch (RuntimeException e) {
            s.responder.shutdownNow();
            throw new PeftException("cannot listen on " + config.host() + ":" + config.port() + ": " + bindFault(e));
        }
        return s;
    }

    private static String bindFault(Throwable e) {
        Throwable t = e;
        String msg = e.getMessage();
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null) msg = t.getMessage();
        }
        if (e.getMessage() != null && e.getMessage().startsWith("Port already in use")) return "the port is already in use";
        return msg == null ? t.getClass().getSimpleName() : msg;
    }

    /** The port the server listens on (the one chosen when the config asked for 0). */
    public int port() {
        return app.port();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(config.host(), port());
    }

    /** {@code http://host:port} (an IPv6 host in brackets). */
    public URI uri() {
        String h = config.host().contains(":") && !config.host().startsWith("[") ? "[" + config.host() + "]" : config.host();
        return URI.create("http://" + h + ":" + port());
    }

    public Config config() {
        return config;
    }

    /**
     * Shuts down gracefully: stops accepting connections, answers the requests already received (for up to the
     * shutdown timeout), then closes the backend. Idempotent; a second caller waits for the first to finish.
     */
    public void stop() {
        if (!stopping.compareAndSet(false, true)) {
            awaitStoppedUninterruptibly();
            return;
        }
        try {
            app.stop();
        } catch (RuntimeException e) {
            LOG.warn("the HTTP server did not stop cleanly: {}", e.getMessage());
        } finally {
            try {
                backend.close();
            } catch (RuntimeException e) {
                LOG.warn("the backend did not close cleanly: {}", e.getMessage());
            } finally {
                responder.shutdown();
                stopped.countDown();
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** Blocks until {@link #stop()} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    private void awaitStoppedUninterruptibly() {
        boolean interrupted = false;
        while (true) {
            try {
                stopped.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    // ------------------------------------------------------------------ configuration

    private void configure(JavalinConfig c) {
        c.startup.showJavalinBanner = false;
        c.startup.showOldJavalinVersionWarning = false;
        c.startup.startupWatcherEnabled = false;
        c.jetty.host = config.host();
        c.jetty.port = config.port();
        c.http.maxRequestSize = config.maxBodyBytes();
        c.http.prefer405over404 = true;
        c.http.asyncTimeout = 0; // the request timeout is ours (504), not Javalin's
        c.jetty.modifyServer(server -> {
            server.setErrorHandler(new JsonErrorHandler());
            server.insertHandler(new GracefulHandler());
            server.setStopTimeout(config.shutdownTimeout().toMillis());
        });
        c.jetty.modifyHttpConfiguration(h -> h.setSendServerVersion(false));
        c.requestLogger.http((ctx, ms) -> metrics.request(endpointOf(ctx), method(ctx), ctx.statusCode(), (long) (ms * 1e6)));

        if (loopbackOnly) c.routes.before(this::checkHost);
        c.routes.get("/health", route("/health", this::health));
        c.routes.get("/metrics", route("/metrics", ctx -> ctx.status(200).contentType(PROMETHEUS_TYPE).result(metrics.scrape())));
        c.routes.get("/v1/adapters", capped("/v1/adapters", this::listAdapters));
        c.routes.put("/v1/adapters/{name}", capped("/v1/adapters/{name}", this::loadAdapter));
        c.routes.delete("/v1/adapters/{name}", capped("/v1/adapters/{name}", this::unloadAdapter));
        c.routes.post("/v1/classify", route("/v1/classify", this::classify));
        c.routes.post("/v1/fill-mask", route("/v1/fill-mask", this::fillMask));
        c.routes.post("/v1/generate", route("/v1/generate", this::generate));

        c.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
        c.routes.exception(ServeException.class, (e, ctx) -> error(ctx, ApiError.of(e).redacted(this::redact)));
        c.routes.exception(PeftException.class, (e, ctx) -> error(ctx, new ApiError(400, "bad_input", redact(e.getMessage()))));
        c.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, fromJavalin(ctx, e)));
        c.routes.exception(Exception.class, (e, ctx) -> error(ctx, internal(e)));
    }

    /** A handler that labels its request with the route template (for metrics). */
    private static Handler route(String endpoint, Handler h) {
        return ctx -> {
            ctx.attribute(ENDPOINT_ATTRIBUTE, endpoint);
            h.handle(ctx);
        };
    }

    /** A synchronous handler that holds one of the concurrent-request permits while it runs. */
    private Handler capped(String endpoint, Handler h) {
        return route(endpoint, ctx -> {
            acquire();
            try {
                h.handle(ctx);
            } finally {
                release();
            }
        });
    }

    private static String endpointOf(Context ctx) {
        Object e = ctx.attribute(ENDPOINT_ATTRIBUTE);
        return e instanceof String s ? s : ServerMetrics.UNMATCHED;
    }

    private void acquire() {
        if (!permits.tryAcquire()) {
            throw ApiError.overloaded("the server is answering " + config.maxConcurrentRequests() + " requests already; retry later");
        }
        inFlight.incrementAndGet();
    }

    private void release() {
        inFlight.decrementAndGet();
        permits.release();
    }

    private static boolean isLoopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (UnknownHostException e) {
            return false; // binding will fail with its own message
        }
    }

    /**
     * On a loopback server, a request must name a loopback host ({@code localhost}, {@code 127.0.0.1}, {@code [::1]}):
     * a web page whose name an attacker points at 127.0.0.1 (DNS rebinding) then cannot reach the API from a browser.
     */
    private void checkHost(Context ctx) {
        String h = ctx.header("Host");
        if (h == null || h.isEmpty()) return;
        String name = h.startsWith("[") ? h.substring(0, Math.max(1, h.indexOf(']') + 1)) : h.contains(":") ? h.substring(0, h.indexOf(':')) : h;
        String n = name.toLowerCase(java.util.Locale.ROOT);
        if (n.equals("localhost") || n.endsWith(".localhost") || n.equals("[::1]") || n.equals(config.host().toLowerCase(java.util.Locale.ROOT))
                || LOOPBACK_V4.matcher(n).matches()) {
            return;
        }
        throw ApiError.forbidden("this server listens on loopback only and answers requests for a loopback host (localhost, 127.0.0.1, [::1]), not '"
                + shorten(name) + "'");
    }

    private static final java.util.regex.Pattern LOOPBACK_V4 = java.util.regex.Pattern.compile("127(\\.\\d{1,3}){3}");

    // ------------------------------------------------------------------ endpoints

    /** 200 {@code "ok"} while the backend serves; 503 {@code "closed"} once it is closed (or its worker stopped). */
    private void health(Context ctx) {
        boolean closed = backend.isClosed();
        ObjectNode o = node();
        o.put("status", closed ? "closed" : "ok");
        o.put("model_type", backend.modelType());
        o.put("decoder", backend.isDecoder());
        List<AdapterInfo> all = backend.adapters();
        o.put("adapters", all.size());
        o.put("adapters_loaded", all.stream().filter(AdapterInfo::loaded).count());
        json(ctx, closed ? 503 : 200, o);
    }

    private void listAdapters(Context ctx) {
        ObjectNode o = node();
        ArrayNode a = o.putArray("adapters");
        for (AdapterInfo i : backend.adapters()) a.add(info(i));
        json(ctx, 200, o);
    }

    private void loadAdapter(Context ctx) {
        String name = Requests.name(ctx.pathParam("name"), "the adapter name");
        Requests.Load req = Requests.load(Requests.object(body(ctx)));
        if (root == null) {
            throw ApiError.forbidden("loading adapters over HTTP is off: the server was started without an adapters root (--adapters-root)");
        }
        Path dir = root.resolve(req.dir());
        AdapterInfo info = backend.load(name, dir);
        json(ctx, 200, info(info));
    }

    private void unloadAdapter(Context ctx) {
        String name = Requests.name(ctx.pathParam("name"), "the adapter name");
        backend.unload(name);
        ObjectNode o = node();
        o.put("unloaded", name);
        json(ctx, 200, o);
    }

    private void classify(Context ctx) {
        Requests.Classify r = Requests.classify(Requests.object(body(ctx)));
        answer(ctx, () -> backend.classify(r.adapter(), r.inputs()), results -> {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            for (Classification c : results) {
                ObjectNode o = a.addObject();
                o.put("label", c.label());
                ObjectNode p = o.putObject("probabilities");
                for (Map.Entry<String, Double> e : c.probabilities().entrySet()) p.put(e.getKey(), finite(e.getValue()));
            }
            return a;
        }, r.inputs().size());
    }

    private void fillMask(Context ctx) {
        Requests.FillMask r = Requests.fillMask(Requests.object(body(ctx)));
        if (backend.isDecoder()) {
            throw new ApiError(400, "unsupported", "fill-mask needs a masked-LM base; this server's base (" + backend.modelType() + ") is a decoder");
        }
        answer(ctx, () -> backend.fillMask(r.adapter(), r.inputs(), r.topK()), results -> {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            for (List<FillMask.Prediction> ps : results) {
                ArrayNode preds = a.addObject().putArray("predictions");
                for (FillMask.Prediction p : ps) {
                    ObjectNode o = preds.addObject();
                    o.put("token", p.token());
                    o.put("id", p.id());
                    o.put("score", finite(p.score()));
                }
            }
            return a;
        }, r.inputs().size());
    }

    private void generate(Context ctx) {
        Requests.Generate r = Requests.generate(Requests.object(body(ctx)));
        if (!backend.isDecoder()) {
            throw new ApiError(400, "unsupported", "generate needs a decoder base; this server's base (" + backend.modelType() + ") is not one");
        }
        answer(ctx, () -> backend.generate(r.adapter(), r.inputs(), r.params()), results -> {
            ArrayNode a = JsonNodeFactory.instance.arrayNode();
            for (Generation g : results) {
                ObjectNode o = a.addObject();
                o.put("text", g.text());
                o.put("tokens", g.tokens());
                o.put("finish_reason", g.finishReason());
            }
            return a;
        }, r.inputs().size());
    }

    /**
     * Answers {@code ctx} asynchronously with the backend's future: {@code {"results": render(value)}}, or the error it
     * failed with, or 504 when it takes longer than the request timeout. Holds a permit until the answer is written.
     */
    private <T> void answer(Context ctx, Supplier<CompletableFuture<T>> call, Function<T, ArrayNode> render, int inputs) {
        acquire();
        CompletableFuture<T> bounded;
        try {
            CompletableFuture<T> f = call.get();
            if (f == null) throw new IllegalStateException("the backend returned no future");
            bounded = f.copy().orTimeout(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            release();
            throw e;
        }
        ctx.future(() -> bounded.handleAsync((value, failure) -> {
            try {
                if (failure != null) {
                    error(ctx, apiError(failure));
                } else {
                    ArrayNode results = render.apply(value);
                    if (results.size() != inputs) {
                        throw new IllegalStateException("the backend answered " + results.size() + " results for " + inputs + " inputs");
                    }
                    ObjectNode o = node();
                    o.set("results", results);
                    json(ctx, 200, o);
                }
            } catch (RuntimeException e) {
                error(ctx, internal(e));
            } finally {
                release();
            }
            return null;
        }, responder));
    }

    // ------------------------------------------------------------------ bodies, answers, errors

    /**
     * The request body, at most {@link Config#maxBodyBytes} bytes (else 413), sent as JSON (else 415: a form or text body
     * is what another site's page can post to a local server without the browser asking first).
     */
    private byte[] body(Context ctx) {
        String type = ctx.header("Content-Type");
        String media = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
        if (!media.equals(JSON_TYPE) && !media.endsWith("+json")) {
            throw new ApiError(415, "unsupported_media_type", "send the body as JSON, with the header Content-Type: application/json"
                    + (type == null ? "" : " (not '" + shorten(type) + "')"));
        }
        long max = config.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > max) throw ApiError.tooLarge(max);
        try (InputStream in = ctx.bodyInputStream()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
            if (b.length > max) throw ApiError.tooLarge(max);
            return b;
        } catch (IOException e) {
            throw new ApiError(400, "bad_request", "the request body could not be read");
        }
    }

    private ApiError apiError(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        if (t instanceof TimeoutException) {
            return new ApiError(504, "timeout", "no answer within the request timeout (" + config.requestTimeout().toMillis() + " ms)");
        }
        if (t instanceof ServeException s) return ApiError.of(s).redacted(this::redact);
        if (t instanceof ApiError a) return a;
        if (t instanceof PeftException p) return new ApiError(400, "bad_input", redact(p.getMessage()));
        return internal(t);
    }

    private ApiError internal(Throwable t) {
        if (t instanceof ApiError a) return a;
        LOG.warn("internal error answering a request", t);
        return new ApiError(500, "internal", "internal server error (" + t.getClass().getSimpleName() + "); see the server log");
    }

    private ApiError fromJavalin(Context ctx, HttpResponseException e) {
        int s = e.getStatus();
        return switch (s) {
            case 404 -> new ApiError(404, "not_found", "no route " + method(ctx) + " " + shorten(ctx.path()));
            case 405 -> {
                String allowed = String.join(", ", e.getDetails().values());
                if (!allowed.isEmpty()) ctx.header("Allow", allowed);
                yield new ApiError(405, "method_not_allowed", method(ctx) + " is not allowed on " + shorten(ctx.path())
                        + (allowed.isEmpty() ? "" : "; allowed: " + allowed));
            }
            case 413 -> ApiError.tooLarge(config.maxBodyBytes());
            default -> new ApiError(s, JsonErrorHandler.type(s), e.getMessage());
        };
    }

    /** The request's method for labels and messages: a standard one, or {@code OTHER} (a client cannot mint label values). */
    private static String method(Context ctx) {
        String m = ctx.req().getMethod();
        return switch (m == null ? "" : m) {
            case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" -> m;
            default -> "OTHER";
        };
    }

    private static String shorten(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    private String redact(String message) {
        return root == null ? message : root.redact(message);
    }

    private static void error(Context ctx, ApiError e) {
        if (e.status == 503) ctx.header("Retry-After", "1");
        ctx.status(e.status).contentType(JSON_TYPE).result(errorBody(e.type, e.getMessage()));
    }

    static byte[] errorBody(String type, String message) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ObjectNode e = o.putObject("error");
        e.put("type", type);
        e.put("message", message);
        try {
            return Requests.JSON.writeValueAsBytes(o);
        } catch (JsonProcessingException x) {
            throw new IllegalStateException(x);
        }
    }

    private static void json(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status).contentType(JSON_TYPE).result(Requests.JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private ObjectNode info(AdapterInfo i) {
        ObjectNode o = node();
        o.put("name", i.name());
        o.put("method", i.method());
        o.put("task", i.task());
        if (i.labels() == null) {
            o.putNull("labels");
        } else {
            ArrayNode labels = o.putArray("labels");
            i.labels().forEach(labels::add);
        }
        o.put("dir", root == null ? null : root.display(i.dir()));
        o.put("trainable_parameters", i.trainableParameters());
        o.put("loaded", i.loaded());
        o.put("merged", i.merged());
        return o;
    }

    /** {@code v}, or null for NaN and infinities (which JSON cannot carry). */
    private static Double finite(Double v) {
        return v == null || v.isNaN() || v.isInfinite() ? null : v;
    }

    private static ObjectNode node() {
        return JsonNodeFactory.instance.objectNode();
    }
}
