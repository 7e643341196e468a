package io.peft4j.serve.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The HTTP server against a fake backend, over real HTTP on an ephemeral loopback port. */
@Timeout(120)
class ServerTest {
    static final ObjectMapper M = new ObjectMapper();
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    final List<InferenceServer> servers = new ArrayList<>();
    @TempDir
    Path tmp;

    record Answer(int status, JsonNode json, String body, HttpResponse<String> response) {
    }

    @AfterEach
    void stopAll() {
        servers.forEach(InferenceServer::stop);
    }

    InferenceServer start(FakeService fake, InferenceServer.Config config) {
        InferenceServer s = InferenceServer.start(fake, config.withPort(0));
        servers.add(s);
        return s;
    }

    InferenceServer start(FakeService fake) throws IOException {
        Path root = Files.createDirectories(tmp.resolve("root"));
        return start(fake, InferenceServer.Config.defaults().withAdaptersRoot(root).withMaxBodyBytes(16 * 1024));
    }

    Answer send(InferenceServer s, String method, String path, String body) throws Exception {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body);
        return answer(client.send(HttpRequest.newBuilder(s.uri().resolve(path)).method(method, p).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString()));
    }

    /** A request builder for {@code path} with a JSON content type. */
    static HttpRequest.Builder json(InferenceServer s, String path) {
        return HttpRequest.newBuilder(s.uri().resolve(path)).header("Content-Type", "application/json");
    }

    /** Sends {@code request} as it is over a plain socket; returns the raw response (status line, headers, body). */
    static String raw(InferenceServer s, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", s.port())) {
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            socket.shutdownOutput();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static JsonNode rawBody(String response) throws IOException {
        return M.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    static Answer answer(HttpResponse<String> r) {
        JsonNode j = null;
        try {
            j = M.readTree(r.body());
        } catch (IOException notJson) {
            // left null: the assertions say so
        }
        return new Answer(r.statusCode(), j, r.body(), r);
    }

    Answer post(InferenceServer s, String path, Object body) throws Exception {
        return send(s, "POST", path, body instanceof String str ? str : M.writeValueAsString(body));
    }

    /** A JSON error of {@code status} and {@code type}, with a message and no stack trace. */
    static String assertError(Answer a, int status, String type) {
        assertThat(a.status()).as(a.body()).isEqualTo(status);
        assertThat(a.response().headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        assertThat(a.json()).as(a.body()).isNotNull();
        assertThat(a.json().size()).isEqualTo(1);
        assertThat(a.json().path("error").path("type").asText()).as(a.body()).isEqualTo(type);
        String msg = a.json().path("error").path("message").asText();
        assertThat(msg).isNotBlank();
        assertThat(a.body()).doesNotContain("\tat ").doesNotContain(".java:").doesNotContain("Exception");
        return msg;
    }

    // ------------------------------------------------------------------ happy paths

    @Test
    void healthSaysTheModelAndAdapterCounts() throws Exception {
        InferenceServer s = start(new FakeService(false, "sst2", "mnli"));
        assertThat(s.uri().getHost()).isEqualTo("127.0.0.1");
        Answer a = send(s, "GET", "/health", null);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.json().get("status").asText()).isEqualTo("ok");
        assertThat(a.json().get("model_type").asText()).isEqualTo("bert");
        assertThat(a.json().get("decoder").asBoolean()).isFalse();
        assertThat(a.json().get("adapters").asInt()).isEqualTo(2);
        assertThat(a.json().get("adapters_loaded").asInt()).isEqualTo(2);
    }

    @Test
    void healthSays503OnceTheBackendIsClosed() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        assertThat(send(s, "GET", "/health", null).status()).isEqualTo(200);
        fake.close();                                   // e.g. its worker stopped: the server still listens
        Answer a = send(s, "GET", "/health", null);
        assertThat(a.status()).isEqualTo(503);
        assertThat(a.json().get("status").asText()).isEqualTo("closed");
    }

    @Test
    void classifyAnswersEachInputWithLabelAndProbabilities() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        Answer a = post(s, "/v1/classify", Map.of("adapter", "sst2",
                "inputs", List.of("a good film", Map.of("premise", "bad", "hypothesis", "worse"))));
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.response().headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode results = a.json().get("results");
        assertThat(results).hasSize(2);
        assertThat(results.get(0).get("label").asText()).isEqualTo("pos");
        assertThat(results.get(0).get("probabilities").get("pos").asDouble()).isEqualTo(0.75);
        assertThat(results.get(0).get("probabilities").get("neg").asDouble()).isEqualTo(0.25);
        assertThat(results.get(1).get("label").asText()).isEqualTo("neg");
        // a bare string is the single text field; an object passes its fields as they are
        assertThat(fake.classifyInputs.get(0)).containsExactly(Map.of(InferenceServer.SINGLE_TEXT_FIELD, "a good film"),
                Map.of("premise", "bad", "hypothesis", "worse"));
        assertThat(fake.calls).containsExactly("classify sst2 2");
    }

    @Test
    void fillMaskAnswersTopKPredictionsPerText() throws Exception {
        FakeService fake = new FakeService(false, "mlm");
        InferenceServer s = start(fake);
        Answer a = post(s, "/v1/fill-mask", "{\"adapter\": null, \"inputs\": [\"The capital of France is [MASK].\", \"x [MASK]\"], \"top_k\": 2}");
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        JsonNode results = a.json().get("results");
        assertThat(results).hasSize(2);
        JsonNode preds = results.get(0).get("predictions");
        assertThat(preds).hasSize(2);
        assertThat(preds.get(0).get("token").asText()).isEqualTo("paris");
        assertThat(preds.get(0).get("id").asInt()).isEqualTo(100);
        assertThat(preds.get(0).get("score").asDouble()).isEqualTo(0.5);
        assertThat(preds.get(1).get("token").asText()).isEqualTo("lyon");
        assertThat(fake.calls).containsExactly("fill-mask null 2 2");
        // top_k defaults to 5, and a named adapter is passed on
        Answer d = post(s, "/v1/fill-mask", Map.of("adapter", "mlm", "inputs", List.of("[MASK]")));
        assertThat(d.json().get("results").get(0).get("predictions")).hasSize(5);
        assertThat(fake.calls).contains("fill-mask mlm 1 5");
    }

    @Test
    void generateContinuesPromptsWithTheGivenSettings() throws Exception {
        FakeService fake = new FakeService(true, "chat");
        InferenceServer s = start(fake);
        Answer a = post(s, "/v1/generate", "{\"adapter\": \"chat\", \"inputs\": [\"Hello\", \"Bye\"], \"max_new_tokens\": 7, "
                + "\"temperature\": 0.5, \"seed\": 42, \"stop\": [\"\\n\"]}");
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        JsonNode results = a.json().get("results");
        assertThat(results).hasSize(2);
        assertThat(results.get(0).get("text").asText()).isEqualTo("Hello continued");
        assertThat(results.get(0).get("tokens").asInt()).isEqualTo(1);
        assertThat(results.get(0).get("finish_reason").asText()).isEqualTo("length");
        assertThat(fake.generationParams.get(0)).isEqualTo(new io.peft4j.serve.InferenceService.GenerationParams(7, 0.5, 42, List.of("\n")));
        // defaults: 64 new tokens, greedy, seed 0, no stop strings; no adapter is the base alone
        assertThat(post(s, "/v1/generate", Map.of("inputs", List.of("Hi"))).status()).isEqualTo(200);
        assertThat(fake.generationParams.get(1)).isEqualTo(new io.peft4j.serve.InferenceService.GenerationParams(64, 0, 0, List.of()));
        assertThat(fake.calls).containsExactly("generate chat 2", "generate null 1");
    }

    @Test
    void generateNeedsADecoderAndFillMaskAnEncoder() throws Exception {
        InferenceServer bert = start(new FakeService(false));
        assertThat(assertError(post(bert, "/v1/generate", Map.of("inputs", List.of("Hi"))), 400, "unsupported")).contains("decoder");
        InferenceServer gpt = start(new FakeService(true), InferenceServer.Config.defaults());
        assertThat(assertError(post(gpt, "/v1/fill-mask", Map.of("inputs", List.of("[MASK]"))), 400, "unsupported")).contains("gpt2");
    }

    @Test
    void adaptersAreListedLoadedAndUnloaded() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        Files.createDirectories(tmp.resolve("root/team/imdb"));
        Answer list = send(s, "GET", "/v1/adapters", null);
        assertThat(list.status()).isEqualTo(200);
        assertThat(names(list)).containsExactly("sst2");
        JsonNode sst2 = list.json().get("adapters").get(0);
        assertThat(sst2.get("method").asText()).isEqualTo("lora");
        assertThat(sst2.get("task").asText()).isEqualTo("classify");
        assertThat(sst2.get("labels")).hasSize(2);
        assertThat(sst2.get("trainable_parameters").asLong()).isEqualTo(1234);
        assertThat(sst2.get("loaded").asBoolean()).isTrue();
        assertThat(sst2.get("merged").asBoolean()).isFalse();
        assertThat(sst2.get("dir").isNull()).as("a directory outside the root is not shown").isTrue();

        Answer put = send(s, "PUT", "/v1/adapters/imdb", "{\"dir\": \"team/./imdb\"}");
        assertThat(put.status()).as(put.body()).isEqualTo(200);
        assertThat(put.json().get("name").asText()).isEqualTo("imdb");
        assertThat(put.json().get("dir").asText()).isEqualTo("team/imdb");
        assertThat(fake.loadedDirs).containsExactly(tmp.resolve("root/team/imdb").toRealPath());
        assertThat(names(send(s, "GET", "/v1/adapters", null))).containsExactly("sst2", "imdb");

        // a malformed adapter: 400, naming the file relative to the root
        Files.createDirectories(tmp.resolve("root/team/broken"));
        String msg = assertError(send(s, "PUT", "/v1/adapters/broken", "{\"dir\": \"team/broken\"}"), 400, "bad_input");
        assertThat(msg).isEqualTo("team/broken/adapter_config.json: not a JSON object");

        Answer del = send(s, "DELETE", "/v1/adapters/sst2", null);
        assertThat(del.status()).as(del.body()).isEqualTo(200);
        assertThat(del.json().get("unloaded").asText()).isEqualTo("sst2");
        assertThat(names(send(s, "GET", "/v1/adapters", null))).containsExactly("imdb");
        assertError(send(s, "DELETE", "/v1/adapters/sst2", null), 404, "unknown_adapter");
        assertError(post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("x"))), 404, "unknown_adapter");
    }

    static List<String> names(Answer a) {
        List<String> out = new ArrayList<>();
        a.json().get("adapters").forEach(n -> out.add(n.get("name").asText()));
        return out;
    }

    // ------------------------------------------------------------------ the adapters root

    @Test
    void loadingStaysInsideTheAdaptersRoot() throws Exception {
        FakeService fake = new FakeService(false);
        InferenceServer s = start(fake);
        Path root = tmp.resolve("root");
        Path outside = Files.createDirectories(tmp.resolve("outside/secret"));
        Files.writeString(outside.resolve("adapter_config.json"), "{}");
        Files.createDirectories(root.resolve("ok"));

        assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"../outside/secret\"}"), 403, "forbidden");
        assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"ok/../../outside/secret\"}"), 403, "forbidden");
        assertError(send(s, "PUT", "/v1/adapters/x", M.writeValueAsString(Map.of("dir", outside.toString()))), 403, "forbidden");
        assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \".\"}"), 403, "forbidden");
        // a link to a directory outside
        Files.createSymbolicLink(root.resolve("link"), outside);
        assertThat(assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"link\"}"), 403, "forbidden")).contains("symbolic link");
        // a directory inside whose file is a link outside
        Path sneaky = Files.createDirectories(root.resolve("sneaky"));
        Files.createSymbolicLink(sneaky.resolve("adapter_config.json"), outside.resolve("adapter_config.json"));
        assertThat(assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"sneaky\"}"), 403, "forbidden"))
                .contains("adapter_config.json").doesNotContain(tmp.toString());
        // a link that stays inside is fine
        Files.createSymbolicLink(root.resolve("alias"), root.resolve("ok"));
        assertThat(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"alias\"}").status()).isEqualTo(200);
        assertThat(fake.loadedDirs).containsExactly(root.resolve("ok").toRealPath());
        // not there, not a directory, not a string, no name
        assertError(send(s, "PUT", "/v1/adapters/y", "{\"dir\": \"missing\"}"), 400, "invalid_request");
        Files.writeString(root.resolve("file"), "x");
        assertError(send(s, "PUT", "/v1/adapters/y", "{\"dir\": \"file\"}"), 400, "invalid_request");
        assertError(send(s, "PUT", "/v1/adapters/y", "{\"dir\": 3}"), 400, "invalid_request");
        assertError(send(s, "PUT", "/v1/adapters/y", "{}"), 400, "invalid_request");
        assertError(send(s, "PUT", "/v1/adapters/-bad", "{\"dir\": \"ok\"}"), 400, "invalid_request");
        assertThat(fake.calls).containsExactly("load x");
    }

    @Test
    void loadingIsForbiddenWithoutAnAdaptersRoot() throws Exception {
        FakeService fake = new FakeService(false);
        InferenceServer s = start(fake, InferenceServer.Config.defaults());
        assertThat(assertError(send(s, "PUT", "/v1/adapters/x", "{\"dir\": \"a\"}"), 403, "forbidden")).contains("--adapters-root");
        assertThat(fake.calls).isEmpty();
    }

    // ------------------------------------------------------------------ errors

    @Test
    void malformedRequestsAreAnswered400NamingTheFault() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": [\"x\""), 400, "invalid_json");
        assertError(post(s, "/v1/classify", "not json"), 400, "invalid_json");
        assertError(post(s, "/v1/classify", ""), 400, "invalid_json");
        assertError(post(s, "/v1/classify", "[1, 2]"), 400, "invalid_json");
        assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"adapter\": \"x\", \"inputs\": [\"a\"]}"), 400, "invalid_json");
        assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": [\"a\"]} {}"), 400, "invalid_json");
        assertThat(assertError(post(s, "/v1/classify", "{\"inputs\": [\"a\"]}"), 400, "invalid_request")).contains("adapter");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\"}"), 400, "invalid_request")).contains("inputs");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": \"a\"}"), 400, "invalid_request"))
                .contains("'inputs' must be an array");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": []}"), 400, "invalid_request")).contains("empty");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": [\"a\", 3]}"), 400, "invalid_request"))
                .contains("inputs[1]");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": [{\"text\": 1}]}"), 400, "invalid_request"))
                .contains("inputs[0].text");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": 5, \"inputs\": [\"a\"]}"), 400, "invalid_request")).contains("'adapter'");
        assertThat(assertError(post(s, "/v1/classify", "{\"adapter\": \"sst2\", \"inputs\": [\"a\"], \"top_k\": 1}"), 400, "invalid_request"))
                .contains("unknown field 'top_k'");
        assertThat(assertError(post(s, "/v1/fill-mask", "{\"inputs\": [\"a\"], \"top_k\": 2.5}"), 400, "invalid_request")).contains("top_k");
        assertThat(assertError(post(s, "/v1/fill-mask", "{\"inputs\": [\"a\"], \"top_k\": 0}"), 400, "invalid_request")).contains("top_k");
        assertThat(assertError(post(s, "/v1/fill-mask", "{\"inputs\": [\"a\"], \"top_k\": \"5\"}"), 400, "invalid_request")).contains("top_k");
        assertThat(fake.calls).isEmpty();
    }

    @Test
    void generateSettingsAreChecked() throws Exception {
        FakeService fake = new FakeService(true);
        InferenceServer s = start(fake);
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"temperature\": -1}"), 400, "invalid_request")).contains("temperature");
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"max_new_tokens\": 0}"), 400, "invalid_request")).contains("max_new_tokens");
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"seed\": 1.5}"), 400, "invalid_request")).contains("seed");
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"stop\": \"x\"}"), 400, "invalid_request")).contains("stop");
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"stop\": [1]}"), 400, "invalid_request")).contains("stop[0]");
        assertThat(assertError(post(s, "/v1/generate", "{\"inputs\": [\"a\"], \"max_tokens\": 5}"), 400, "invalid_request")).contains("max_tokens");
        assertThat(fake.calls).isEmpty();
    }

    @Test
    void backendFaultsMapToTheirStatuses() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        assertThat(assertError(post(s, "/v1/classify", Map.of("adapter", "nope", "inputs", List.of("a"))), 404, "unknown_adapter")).contains("nope");
        assertThat(assertError(post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("a".repeat(500)))), 400, "bad_input"))
                .contains("longer than");
        fake.overloaded = true;
        Answer over = post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("a")));
        assertError(over, 503, "overloaded");
        assertThat(over.response().headers().firstValue("Retry-After")).hasValue("1");
    }

    @Test
    void unknownRoutesAre404AndWrongMethods405() throws Exception {
        InferenceServer s = start(new FakeService(false));
        assertError(send(s, "GET", "/nope", null), 404, "not_found");
        assertError(send(s, "POST", "/v1/nope", "{}"), 404, "not_found");
        Answer wrong = send(s, "GET", "/v1/classify", null);
        assertThat(assertError(wrong, 405, "method_not_allowed")).contains("POST");
        assertThat(wrong.response().headers().firstValue("Allow").orElse("")).contains("POST");
        assertError(send(s, "POST", "/v1/adapters", "{}"), 405, "method_not_allowed");
        assertError(send(s, "POST", "/health", "{}"), 405, "method_not_allowed");
    }

    @Test
    void bodiesMustBeSentAsJson() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        String body = "{\"adapter\": \"sst2\", \"inputs\": [\"a\"]}";
        for (String type : new String[]{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
            Answer a = answer(client.send(HttpRequest.newBuilder(s.uri().resolve("/v1/classify")).header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
            assertThat(assertError(a, 415, "unsupported_media_type")).contains("application/json");
        }
        Answer none = answer(client.send(HttpRequest.newBuilder(s.uri().resolve("/v1/classify")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()));
        assertError(none, 415, "unsupported_media_type");
        assertThat(fake.calls).isEmpty();
        Answer charset = answer(client.send(HttpRequest.newBuilder(s.uri().resolve("/v1/classify")).header("Content-Type", "application/json; charset=utf-8")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
        assertThat(charset.status()).isEqualTo(200);
    }

    @Test
    void aLoopbackServerAnswersOnlyRequestsForALoopbackHost() throws Exception {
        InferenceServer s = start(new FakeService(false));
        for (String host : new String[]{"localhost", "localhost:" + s.port(), "127.0.0.1:" + s.port(), "[::1]:" + s.port()}) {
            assertThat(raw(s, "GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")).as(host).startsWith("HTTP/1.1 200");
        }
        // a name an attacker's DNS points at 127.0.0.1 (DNS rebinding): a page on it must not reach the API
        String r = raw(s, "GET /v1/adapters HTTP/1.1\r\nHost: evil.example:" + s.port() + "\r\nConnection: close\r\n\r\n");
        assertThat(r).startsWith("HTTP/1.1 403");
        assertThat(rawBody(r).path("error").path("type").asText()).isEqualTo("forbidden");
    }

    @Test
    void malformedHttpIsAnsweredInJsonToo() throws Exception {
        InferenceServer s = start(new FakeService(false));
        String r = raw(s, "GET /health HTTP/1.1\r\nHost: localhost\r\nBad header line\r\n\r\n");
        assertThat(r).startsWith("HTTP/1.1 400").contains("application/json").doesNotContain("<html").doesNotContain("\tat ");
        assertThat(rawBody(r).path("error").path("type").asText()).isEqualTo("bad_request");
    }

    @Test
    void bodiesOverTheLimitAre413() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake); // 16 KiB
        String big = M.writeValueAsString(Map.of("adapter", "sst2", "inputs", List.of("a".repeat(40_000))));
        // with a Content-Length (no Expect: 100-continue: JDK 17's client waits for ever when refused one)
        HttpRequest declared = json(s, "/v1/classify")
                .POST(HttpRequest.BodyPublishers.ofString(big)).build();
        assertThat(assertError(answer(client.send(declared, HttpResponse.BodyHandlers.ofString())), 413, "payload_too_large")).contains("16384");
        // chunked, no length given: counted as it is read
        byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
        HttpRequest chunked = json(s, "/v1/classify")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))).build();
        assertThat(chunked.bodyPublisher().orElseThrow().contentLength()).isNegative();
        assertError(answer(client.send(chunked, HttpResponse.BodyHandlers.ofString())), 413, "payload_too_large");
        assertThat(fake.calls).isEmpty();
        // just under the limit is fine
        String fits = M.writeValueAsString(Map.of("adapter", "sst2", "inputs", List.of("a".repeat(16_000))));
        assertError(post(s, "/v1/classify", fits), 400, "bad_input"); // reached the backend, which finds it too long
    }

    @Test
    void aRequestPastItsTimeoutIs504() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        fake.gate = new CountDownLatch(1); // never opens while the request waits
        InferenceServer s = start(fake, InferenceServer.Config.defaults().withRequestTimeout(Duration.ofMillis(200)));
        assertThat(assertError(post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("a"))), 504, "timeout")).contains("200 ms");
        fake.gate.countDown();
        // the permit came back: the server still answers
        assertThat(post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("a"))).status()).isEqualTo(200);
    }

    @Test
    void requestsOverTheConcurrencyCapAre503() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        fake.gate = new CountDownLatch(1);
        InferenceServer s = start(fake, InferenceServer.Config.defaults().withMaxConcurrentRequests(2));
        String body = M.writeValueAsString(Map.of("adapter", "sst2", "inputs", List.of("good")));
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            held.add(client.sendAsync(json(s, "/v1/classify").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        fake.entered.acquire(2); // both are in the backend, holding the two permits
        assertThat(assertError(post(s, "/v1/classify", body), 503, "overloaded")).contains("2 requests");
        assertThat(send(s, "GET", "/health", null).status()).as("health is never capped").isEqualTo(200);
        fake.gate.countDown();
        for (CompletableFuture<HttpResponse<String>> f : held) assertThat(f.get().statusCode()).isEqualTo(200);
        assertThat(post(s, "/v1/classify", body).status()).isEqualTo(200);
    }

    // ------------------------------------------------------------------ concurrency, metrics, shutdown

    @Test
    void concurrentRequestsFromManyThreadsEachGetTheirOwnAnswer() throws Exception {
        FakeService fake = new FakeService(false, "a", "b");
        InferenceServer s = start(fake);
        int threads = 8, each = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < each; i++) {
                        boolean good = (id + i) % 2 == 0;
                        String adapter = i % 2 == 0 ? "a" : "b";
                        List<String> inputs = List.of((good ? "good " : "bad ") + id + "-" + i, "plain " + i);
                        Answer a = post(s, "/v1/classify", Map.of("adapter", adapter, "inputs", inputs));
                        assertThat(a.status()).as(a.body()).isEqualTo(200);
                        assertThat(a.json().get("results").get(0).get("label").asText()).isEqualTo(good ? "pos" : "neg");
                        assertThat(a.json().get("results").get(1).get("label").asText()).isEqualTo("neg");
                        ok++;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) total += f.get();
            assertThat(total).isEqualTo(threads * each);
            assertThat(fake.calls).hasSize(threads * each);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void metricsCountRequestsLatencyBatchesAndAdapters() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        InferenceServer s = start(fake);
        for (int i = 0; i < 3; i++) assertThat(post(s, "/v1/classify", Map.of("adapter", "sst2", "inputs", List.of("a", "b"))).status()).isEqualTo(200);
        post(s, "/v1/classify", Map.of("adapter", "nope", "inputs", List.of("a")));
        send(s, "GET", "/no/such/path/123", null);
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(s.uri().resolve("/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        String m = r.body();
        assertThat(m).contains("# TYPE peft_http_requests_total counter")
                .contains("peft_http_requests_total{endpoint=\"/v1/classify\",method=\"POST\",status=\"200\"} 3.0")
                .contains("peft_http_requests_total{endpoint=\"/v1/classify\",method=\"POST\",status=\"404\"} 1.0")
                .contains("peft_http_requests_total{endpoint=\"unmatched\",method=\"GET\",status=\"404\"} 1.0")
                .doesNotContain("/no/such/path")
                .contains("# TYPE peft_http_request_duration_seconds histogram")
                .contains("peft_http_request_duration_seconds_bucket{endpoint=\"/v1/classify\",method=\"POST\",le=\"0.005\"}")
                .contains("peft_http_request_duration_seconds_count{endpoint=\"/v1/classify\",method=\"POST\"} 4")
                .contains("peft_batch_rows_bucket{kind=\"classify\",le=\"2.0\"} 3")
                .contains("peft_batch_rows_count{kind=\"classify\"} 3")
                .contains("peft_batch_requests_count{kind=\"classify\"} 3")
                .contains("peft_adapters_loaded 1.0")
                .contains("peft_adapters_registered 1.0")
                .contains("peft_http_requests_in_flight 0.0");
    }

    @Test
    void stopFinishesRequestsInFlightRefusesNewConnectionsAndClosesTheBackend() throws Exception {
        FakeService fake = new FakeService(false, "sst2");
        fake.gate = new CountDownLatch(1);
        InferenceServer s = start(fake);
        int port = s.port();
        CompletableFuture<HttpResponse<String>> slow = client.sendAsync(json(s, "/v1/classify")
                .POST(HttpRequest.BodyPublishers.ofString("{\"adapter\": \"sst2\", \"inputs\": [\"good\"]}")).build(), HttpResponse.BodyHandlers.ofString());
        fake.entered.acquire(); // the request is in the backend
        Socket open = new Socket("127.0.0.1", port); // a connection made before the stop, its request sent after
        Thread stopper = new Thread(s::stop, "test-stopper");
        stopper.start();
        while (accepts(port)) Thread.sleep(10); // until the listening socket has closed
        assertThat(slow).isNotDone();
        try (open) {
            open.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String late = new String(open.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(late).startsWith("HTTP/1.1 503");
            assertThat(rawBody(late).path("error").path("type").asText()).isEqualTo("unavailable");
        }
        assertThat(fake.closed).as("the backend stays open while a request is in flight").isFalse();
        fake.gate.countDown();
        HttpResponse<String> r = slow.get();
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(M.readTree(r.body()).get("results").get(0).get("label").asText()).isEqualTo("pos");
        stopper.join();
        assertThat(fake.closed).isTrue();
        HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        assertThatThrownBy(() -> fresh.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(ConnectException.class);
        s.stop(); // idempotent
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aPortInUseIsOneClearError() throws Exception {
        InferenceServer s = start(new FakeService(false));
        assertThatThrownBy(() -> InferenceServer.start(new FakeService(false), InferenceServer.Config.defaults().withPort(s.port())))
                .hasMessageContaining("cannot listen on 127.0.0.1:" + s.port()).hasMessageContaining("in use");
    }
}
