package io.peft4j.cli;

import io.peft4j.core.infer.FillMask;
import io.peft4j.serve.InferenceService;
import io.peft4j.serve.http.InferenceServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code peft serve}: its options' faults, and a server started and stopped with a stand-in backend. */
@Timeout(120)
class ServeCommandTest {
    @TempDir
    Path tmp;

    @AfterEach
    void restore() {
        ServeCommand.backendFactory = ServeCommand::backend;
        ServeCommand.onStarted = s -> { };
    }

    static CliTest.Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new CliTest.Result(code, out.toString(), err.toString());
    }

    /** Exit 1 and exactly one line, {@code peft serve: error: ...} containing {@code expected}; the backend never built. */
    static void assertOneLine(CliTest.Result r, String... expected) {
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).startsWith("peft serve: error: ").doesNotContain("\tat ").doesNotContain("Exception");
        for (String e : expected) assertThat(r.err()).contains(e);
    }

    @Test
    void badOptionsEachGiveOneClearMessage() throws Exception {
        ServeCommand.backendFactory = o -> {
            throw new AssertionError("the backend must not be built for bad options");
        };
        assertOneLine(run("serve", "--model", "m", "--port", "70000"), "--port", "between 0 and 65535", "70000");
        assertOneLine(run("serve", "--model", "m", "--port", "-1"), "--port");
        assertOneLine(run("serve", "--model", "m", "--adapter", "sst2"), "--adapter", "NAME=DIR", "'sst2'");
        assertOneLine(run("serve", "--model", "m", "--adapter", "=dir"), "--adapter", "name ''");
        assertOneLine(run("serve", "--model", "m", "--adapter", "a/b=dir"), "--adapter", "'a/b'");
        assertOneLine(run("serve", "--model", "m", "--adapter", "sst2="), "--adapter", "no directory");
        assertOneLine(run("serve", "--model", "m", "--adapter", "sst2=" + tmp.resolve("missing")), "--adapter sst2", "not a directory");
        Path d = Files.createDirectories(tmp.resolve("a"));
        assertOneLine(run("serve", "--model", "m", "--adapter", "x=" + d, "--adapter", "x=" + d), "given twice");
        assertOneLine(run("serve", "--model", "m", "--adapters-root", tmp.resolve("missing").toString()), "--adapters-root", "not a directory");
        assertOneLine(run("serve", "--model", "m", "--max-batch-rows", "0"), "--max-batch-rows", "positive");
        assertOneLine(run("serve", "--model", "m", "--queue-capacity", "-3"), "--queue-capacity");
        assertOneLine(run("serve", "--model", "m", "--request-timeout-ms", "0"), "--request-timeout-ms");
        assertOneLine(run("serve", "--model", "m", "--max-body-bytes", "0"), "--max-body-bytes");
        assertOneLine(run("serve", "--model", "m", "--max-concurrent-requests", "0"), "--max-concurrent-requests");
        assertOneLine(run("serve", "--model", "m", "--max-wait-ms", "-1"), "--max-wait-ms");
        assertOneLine(run("serve", "--model", "m", "--host", "no-such-host.invalid"), "--host", "cannot resolve");
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            assertOneLine(run("serve", "--model", "m", "--port", Integer.toString(taken.getLocalPort())), "cannot listen", "in use");
        }
        CliTest.Result usage = run("serve", "--port", "1");
        assertThat(usage.code()).isEqualTo(2);
        assertThat(usage.err()).contains("--model");
        CliTest.Result notInt = run("serve", "--model", "m", "--port", "http");
        assertThat(notInt.code()).isEqualTo(2);
        assertThat(notInt.err()).contains("--port").doesNotContain("\tat ");
    }

    @Test
    void servesUntilStoppedAndTellsWhereItListens() throws Exception {
        Path adapter = Files.createDirectories(tmp.resolve("sst2"));
        AtomicReference<ServeCommand.BackendOptions> seen = new AtomicReference<>();
        Stub stub = new Stub();
        ServeCommand.backendFactory = o -> {
            seen.set(o);
            return stub;
        };
        AtomicReference<InferenceServer> server = new AtomicReference<>();
        ServeCommand.onStarted = server::set;
        StringWriter err = new StringWriter();
        Thread serving = new Thread(() -> Main.run(new String[]{"serve", "--model", "tiny", "--port", "0", "--adapter", "sst2=" + adapter,
                "--adapters-root", tmp.toString(), "--max-batch-rows", "4", "--max-wait-ms", "2", "--queue-capacity", "9",
                "--max-loaded-adapters", "3"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true)));
        serving.start();
        while (server.get() == null && serving.isAlive()) Thread.sleep(10);
        assertThat(server.get()).as(err.toString()).isNotNull();
        Matcher m = Pattern.compile("peft serve: listening on (http://127\\.0\\.0\\.1:\\d+) \\(model bert, 1 adapter\\)").matcher(err.toString());
        assertThat(m.find()).as(err.toString()).isTrue();
        HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(m.group(1) + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        ServeCommand.BackendOptions o = seen.get();
        assertThat(o.model()).isEqualTo("tiny");
        assertThat(o.adapters()).containsExactly(Map.entry("sst2", adapter));
        assertThat(o.adaptersRoot()).isEqualTo(tmp);
        assertThat(List.of(o.maxBatchRows(), (int) o.maxWaitMs(), o.queueCapacity(), o.maxLoadedAdapters())).containsExactly(4, 2, 9, 3);
        server.get().stop();
        serving.join();
        assertThat(stub.closed).isTrue();
        assertThat(err.toString()).contains("peft serve: stopped").doesNotContain("\tat ");
    }

    /** A backend that knows one adapter and answers nothing. */
    static final class Stub implements InferenceService {
        volatile boolean closed;

        @Override
        public CompletableFuture<List<Classification>> classify(String adapter, List<Map<String, String>> inputs) {
            return CompletableFuture.completedFuture(List.of());
        }

        @Override
        public CompletableFuture<List<List<FillMask.Prediction>>> fillMask(String adapter, List<String> texts, int topK) {
            return CompletableFuture.completedFuture(List.of());
        }

        @Override
        public CompletableFuture<List<Generation>> generate(String adapter, List<String> prompts, GenerationParams params) {
            return CompletableFuture.completedFuture(List.of());
        }

        @Override
        public List<AdapterInfo> adapters() {
            return List.of(new AdapterInfo("sst2", "lora", "classify", List.of("neg", "pos"), Path.of("sst2"), 1, false, false));
        }

        @Override
        public AdapterInfo load(String name, Path dir) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void unload(String name) {
        }

        @Override
        public void addBatchListener(BatchListener listener) {
        }

        @Override
        public String modelType() {
            return "bert";
        }

        @Override
        public boolean isDecoder() {
            return false;
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
