package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.serve.AdapterRegistry;
import io.peft4j.serve.InferenceService;
import io.peft4j.serve.http.InferenceServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Pattern;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serves one frozen base model with many adapters over HTTP (JSON): classify, fill-mask, generate, adapter "
                + "loading and unloading, health and Prometheus metrics. Binds to loopback unless --host says otherwise; "
                + "stops gracefully on Ctrl-C or SIGTERM (answers the requests it has, then exits). API: docs/serving.md.")
final class ServeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "The base model: a directory or a known name.")
    String model;
    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "An adapter to serve under NAME, from directory DIR (repeatable).")
    List<String> adapters = new ArrayList<>();
    @Option(names = "--adapters-root", paramLabel = "DIR",
            description = "The only directory PUT /v1/adapters/{name} may load from (default: none; loading over HTTP is refused).")
    Path adaptersRoot;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "The address to listen on (default: ${DEFAULT-VALUE}, loopback only).")
    String host;
    @Option(names = "--port", defaultValue = "8080", description = "The port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;
    @Option(names = "--max-batch-rows", defaultValue = "32", description = "The most rows (inputs) run in one batch (default: ${DEFAULT-VALUE}).")
    int maxBatchRows;
    @Option(names = "--max-wait-ms", defaultValue = "5", description = "How long a request may wait for others to share its batch (default: ${DEFAULT-VALUE}).")
    long maxWaitMs;
    @Option(names = "--queue-capacity", defaultValue = "256", description = "The most requests waiting for a batch; more are answered 503 (default: ${DEFAULT-VALUE}).")
    int queueCapacity;
    @Option(names = "--max-loaded-adapters", defaultValue = "8",
            description = "The most adapters kept in memory; the least recently used is unloaded for another (default: ${DEFAULT-VALUE}).")
    int maxLoadedAdapters;
    @Option(names = "--request-timeout-ms", defaultValue = "30000", description = "Inference requests not answered in this time get 504 (default: ${DEFAULT-VALUE}).")
    long requestTimeoutMs;
    @Option(names = "--max-body-bytes", defaultValue = "1048576", description = "The largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;
    @Option(names = "--max-concurrent-requests", defaultValue = "64",
            description = "The most /v1 requests answered at once; more get 503 (default: ${DEFAULT-VALUE}).")
    int maxConcurrentRequests;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** What the backend is built from. */
    record BackendOptions(String model, Map<String, Path> adapters, Path adaptersRoot, int maxBatchRows, long maxWaitMs,
                          int queueCapacity, int maxLoadedAdapters, Duration requestTimeout) {
    }

    /**
     * Builds the backend: an {@link AdapterRegistry} over the model with the named adapters registered (loaded on first
     * request). The adapters root bounds what clients may load ({@code PUT}, checked by the server); the operator's own
     * {@code --adapter} directories may lie anywhere.
     */
    static InferenceService backend(BackendOptions o) {
        AdapterRegistry.Options.Builder b = AdapterRegistry.Options.builder().maxBatchRows(o.maxBatchRows()).maxWaitMillis(o.maxWaitMs())
                .queueCapacity(o.queueCapacity()).maxLoadedAdapters(o.maxLoadedAdapters()).requestTimeout(o.requestTimeout());
        AdapterRegistry registry = AdapterRegistry.open(o.model(), b.build());
        try {
            o.adapters().forEach(registry::register);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        return registry;
    }

    /** The backend factory ({@link #backend}); tests put a fake in its place. */
    static volatile Function<BackendOptions, InferenceService> backendFactory = ServeCommand::backend;
    /** Told the server once it listens; tests use it to stop the server. */
    static volatile Consumer<InferenceServer> onStarted = s -> { };

    @Override
    public void run() {
        BackendOptions options = options();
        InferenceServer.Config config = config();
        PrintWriter err = spec.commandLine().getErr();
        if (!loopback(host)) {
            err.println("peft serve: warning: listening on " + host + ", not loopback: anyone who can reach it can run the model"
                    + (adaptersRoot == null ? "" : " and load adapters from " + adaptersRoot) + "; there is no authentication");
        }
        if (port != 0) checkFree(host, port); // before the model loads, and without the server library's log lines
        InferenceService backend = backendFactory.apply(options);
        InferenceServer server;
        try {
            server = InferenceServer.start(backend, config);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        Thread hook = new Thread(server::stop, "peft-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int n = backend.adapters().size();
        err.println("peft serve: listening on " + server.uri() + " (model " + backend.modelType() + ", " + n + (n == 1 ? " adapter" : " adapters")
                + "); Ctrl-C stops");
        err.flush();
        onStarted.accept(server);
        try {
            server.awaitStopped();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.stop();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is what stopped the server
        }
        err.println("peft serve: stopped");
        err.flush();
    }

    /** The options for the backend, checked: each fault names its option. */
    BackendOptions options() {
        if (port < 0 || port > 65_535) throw new PeftException("--port: must be between 0 and 65535, not " + port);
        positive("--max-batch-rows", maxBatchRows);
        if (maxWaitMs < 0) throw new PeftException("--max-wait-ms: must not be negative, not " + maxWaitMs);
        positive("--queue-capacity", queueCapacity);
        positive("--max-loaded-adapters", maxLoadedAdapters);
        positive("--request-timeout-ms", requestTimeoutMs);
        positive("--max-body-bytes", maxBodyBytes);
        positive("--max-concurrent-requests", maxConcurrentRequests);
        if (host.isBlank()) throw new PeftException("--host: must not be blank");
        Map<String, Path> named = new LinkedHashMap<>();
        for (String a : adapters) {
            int eq = a.indexOf('=');
            if (eq < 0) throw new PeftException("--adapter: expected NAME=DIR, not '" + a + "'");
            String name = a.substring(0, eq);
            String dir = a.substring(eq + 1);
            if (!NAME.matcher(name).matches()) {
                throw new PeftException("--adapter: the name '" + name + "' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            if (dir.isEmpty()) throw new PeftException("--adapter: no directory after '" + name + "='");
            if (named.containsKey(name)) throw new PeftException("--adapter: the name '" + name + "' is given twice");
            Path p = Path.of(dir);
            if (!Files.isDirectory(p)) throw new PeftException("--adapter " + name + ": " + dir + " is not a directory");
            named.put(name, p);
        }
        if (adaptersRoot != null && !Files.isDirectory(adaptersRoot)) {
            throw new PeftException("--adapters-root: " + adaptersRoot + " is not a directory");
        }
        return new BackendOptions(model, Map.copyOf(named), adaptersRoot, maxBatchRows, maxWaitMs, queueCapacity, maxLoadedAdapters,
                Duration.ofMillis(requestTimeoutMs));
    }

    InferenceServer.Config config() {
        Duration timeout = Duration.ofMillis(requestTimeoutMs);
        return InferenceServer.Config.defaults().withHost(host).withPort(port).withAdaptersRoot(adaptersRoot).withMaxBodyBytes(maxBodyBytes)
                .withRequestTimeout(timeout).withMaxConcurrentRequests(maxConcurrentRequests)
                // every inference request ends within its timeout; loads get some more
                .withShutdownTimeout(timeout.plusSeconds(30));
    }

    private static void positive(String option, long v) {
        if (v <= 0) throw new PeftException(option + ": must be positive, not " + v);
    }

    /** Fails with one clear message when {@code host:port} cannot be bound (in use, not an address of this machine). */
    private static void checkFree(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(host, port));
        } catch (BindException e) {
            throw new PeftException("cannot listen on " + host + ":" + port + ": " + (e.getMessage() != null && e.getMessage().contains("in use")
                    ? "the port is already in use" : e.getMessage()));
        } catch (IOException e) {
            throw new PeftException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
    }

    private static boolean loopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (UnknownHostException e) {
            throw new PeftException("--host: cannot resolve '" + host + "'");
        }
    }
}
