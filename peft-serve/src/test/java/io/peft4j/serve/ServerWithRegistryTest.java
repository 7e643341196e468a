package io.peft4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.serve.http.InferenceServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code peft serve}'s two halves together: the HTTP server over a real {@link AdapterRegistry} on bert-tiny, driven by a
 * real HTTP client. Every answer is checked against the classifier the CLI loads from the same directory on a model of
 * its own ({@link ClassifierDirectory#load}), through concurrent requests, a load, a reload, an unload and a graceful stop.
 */
@Timeout(300)
class ServerWithRegistryTest {
    static final ObjectMapper M = new ObjectMapper();
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void servesLoadsReloadsUnloadsAndStopsWithAnswersEqualToTheCli(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path root = tmp.resolve("root");
        Path lora = ServeFixtures.headClassifier(base, root.resolve("lora"), LoraConfig.defaults().withR(4), "lora", List.of("text"), 1);
        Path prefix = ServeFixtures.templateClassifier(base, root.resolve("prefix"), PrefixTuningConfig.of(3), "prefix_tuning",
                ServeFixtures.SENTIMENT_TEMPLATE, ServeFixtures.SENTIMENT_WORDS, 2);
        Path pair = ServeFixtures.headClassifier(base, root.resolve("pair"), LoraConfig.defaults().withR(2), "lora", List.of("subject", "body"), 3);
        Path lora2 = ServeFixtures.headClassifier(base, root.resolve("lora-v2"), LoraConfig.defaults().withR(4), "lora", List.of("text"), 99);

        AdapterRegistry registry = AdapterRegistry.open(base, AdapterRegistry.Options.builder().maxBatchRows(16).maxWaitMillis(5).build());
        registry.register("lora", lora);
        registry.register("prefix", prefix);
        InferenceServer server = InferenceServer.start(registry, InferenceServer.Config.defaults().withPort(0).withAdaptersRoot(root));
        URI health = server.uri().resolve("/health");
        try {
            // concurrent requests for two adapters, bare strings, each answer equal to the CLI's classifier
            Map<String, ClassifierDirectory.Loaded> cli = Map.of("lora", ClassifierDirectory.load(lora, base.toString()),
                    "prefix", ClassifierDirectory.load(prefix, base.toString()));
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long seed = t;
                done.add(pool.submit(() -> {
                    Random rnd = new Random(seed);
                    for (int i = 0; i < 15; i++) {
                        String adapter = rnd.nextBoolean() ? "lora" : "prefix";
                        List<String> texts = List.of(ServeFixtures.sentence(rnd), ServeFixtures.sentence(rnd));
                        JsonNode r = post(server, "/v1/classify", Map.of("adapter", adapter, "inputs", texts), 200);
                        assertMatchesCli(r, cli.get(adapter), texts.stream().map(x -> Map.of("text", x)).toList());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get();
            pool.shutdown();

            // a client loads an adapter from under the root, then uses it with an object input of two fields
            post(server, "/v1/adapters/pair", "PUT", Map.of("dir", "pair"), 200);
            List<Map<String, String>> pairInputs = List.of(Map.of("subject", "great movie", "body", "it was fine"));
            assertMatchesCli(post(server, "/v1/classify", Map.of("adapter", "pair", "inputs", pairInputs), 200),
                    ClassifierDirectory.load(pair, base.toString()), pairInputs);

            // reload "lora" from another directory: later answers are the new classifier's
            post(server, "/v1/adapters/lora", "PUT", Map.of("dir", "lora-v2"), 200);
            List<Map<String, String>> one = List.of(Map.of("text", "the movie was awful"));
            assertMatchesCli(post(server, "/v1/classify", Map.of("adapter", "lora", "inputs", List.of("the movie was awful")), 200),
                    ClassifierDirectory.load(lora2, base.toString()), one);

            // unload: the adapter is gone from the list and unknown to classify
            post(server, "/v1/adapters/prefix", "DELETE", null, 200);
            JsonNode list = get(server, "/v1/adapters");
            List<String> names = new ArrayList<>();
            list.path("adapters").forEach(a -> names.add(a.path("name").asText()));
            assertThat(names).containsExactlyInAnyOrder("lora", "pair");
            JsonNode err = post(server, "/v1/classify", Map.of("adapter", "prefix", "inputs", List.of("x")), 404);
            assertThat(err.path("error").path("message").asText()).contains("prefix");

            String metrics = client.send(HttpRequest.newBuilder(server.uri().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("peft_batch_rows").contains("peft_http_requests_total").contains("peft_adapters_loaded");
        } finally {
            server.stop();
        }
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(ConnectException.class);
        assertThat(registry.isClosed()).isTrue();
    }

    /** A bare string reaches a one-field classifier as its field, whatever the field's name; with two fields it is refused. */
    @Test
    void aBareStringIsTheOnlyTextFieldOfAClassifier(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path sms = ServeFixtures.headClassifier(base, tmp.resolve("sms"), LoraConfig.defaults().withR(2), "lora", List.of("sms"), 4);
        Path pair = ServeFixtures.headClassifier(base, tmp.resolve("pair"), LoraConfig.defaults().withR(2), "lora", List.of("subject", "body"), 5);
        AdapterRegistry registry = AdapterRegistry.open(base, AdapterRegistry.Options.defaults());
        registry.register("sms", sms);
        registry.register("pair", pair);
        InferenceServer server = InferenceServer.start(registry, InferenceServer.Config.defaults().withPort(0));
        try {
            assertMatchesCli(post(server, "/v1/classify", Map.of("adapter", "sms", "inputs", List.of("win a free film")), 200),
                    ClassifierDirectory.load(sms, base.toString()), List.of(Map.of("sms", "win a free film")));
            JsonNode err = post(server, "/v1/classify", Map.of("adapter", "pair", "inputs", List.of("win a free film")), 400);
            assertThat(err.path("error").path("message").asText()).contains("subject");
        } finally {
            server.stop();
        }
    }

    /** A request with more inputs than the registry's cap is a 400 naming the count and the cap. */
    @Test
    void tooManyInputsInOneRequestAreA400NamingTheCap(@TempDir Path tmp) throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Path sms = ServeFixtures.headClassifier(base, tmp.resolve("sms"), LoraConfig.defaults().withR(2), "lora", List.of("text"), 4);
        AdapterRegistry registry = AdapterRegistry.open(base, AdapterRegistry.Options.defaults());
        registry.register("sms", sms);
        InferenceServer server = InferenceServer.start(registry, InferenceServer.Config.defaults().withPort(0));
        try {
            JsonNode err = post(server, "/v1/classify", Map.of("adapter", "sms", "inputs", java.util.Collections.nCopies(257, "a film")), 400);
            assertThat(err.path("error").path("type").asText()).isEqualTo("bad_input");
            assertThat(err.path("error").path("message").asText()).contains("257 inputs").contains("256 allowed");
            assertThat(post(server, "/v1/classify", Map.of("adapter", "sms", "inputs", List.of("a film")), 200).path("results").size()).isEqualTo(1);
        } finally {
            server.stop();
        }
    }

    /** The server's labels and probabilities equal those of the CLI's classifier on its own model (1e-5). */
    static void assertMatchesCli(JsonNode answer, ClassifierDirectory.Loaded cli, List<Map<String, String>> inputs) {
        double[][] lp = cli.classifier().logProbabilities(inputs, 8);
        List<String> labels = cli.classifier().labels();
        assertThat(answer.path("results").size()).isEqualTo(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            JsonNode r = answer.path("results").get(i);
            int best = 0;
            for (int c = 0; c < labels.size(); c++) {
                assertThat(r.path("probabilities").path(labels.get(c)).asDouble()).as(inputs.get(i) + " " + labels.get(c)).isCloseTo(Math.exp(lp[i][c]), within(1e-5));
                if (lp[i][c] > lp[i][best]) best = c;
            }
            assertThat(r.path("label").asText()).isEqualTo(labels.get(best));
        }
    }

    JsonNode post(InferenceServer s, String path, Object body, int status) throws Exception {
        return post(s, path, "POST", body, status);
    }

    JsonNode post(InferenceServer s, String path, String method, Object body, int status) throws Exception {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(M.writeValueAsString(body));
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(s.uri().resolve(path)).method(method, p).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(status);
        return M.readTree(r.body());
    }

    JsonNode get(InferenceServer s, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(s.uri().resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return M.readTree(r.body());
    }
}
