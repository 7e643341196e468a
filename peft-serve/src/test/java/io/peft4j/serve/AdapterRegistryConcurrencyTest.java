package io.peft4j.serve;

import io.peft4j.serve.InferenceService.Classification;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The thread-safety check: 8 client threads send 500 random requests each over several adapters of different
 * methods (more adapters than may be loaded at once, so they are evicted and loaded again under load) while another
 * thread reloads adapters from disk, eagerly and lazily; every answer equals the same input classified one by one.
 */
class AdapterRegistryConcurrencyTest {
    private static final int THREADS = 8, REQUESTS = 500, IN_FLIGHT = 6;

    @TempDir
    Path tmp;

    private record Key(String adapter, Map<String, String> input) {
    }

    @Test
    void eightThreadsOfRandomRequestsWithReloadsGiveTheAnswersOfOneByOne() throws Exception {
        Path base = ServeFixtures.bertBase(tmp);
        Map<String, Path> all = ServeFixtures.classifiers(base, tmp.resolve("adapters"));
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (String n : List.of("lora", "ia3", "bottleneck", "prompt", "prefix", "soft", "pair")) dirs.put(n, all.get(n));
        List<String> names = new ArrayList<>(dirs.keySet());
        Random rnd = new Random(2024);
        Map<String, List<Map<String, String>>> pool = new LinkedHashMap<>();
        for (String n : names) {
            List<Map<String, String>> ins = new ArrayList<>();
            for (int i = 0; i < 20; i++) ins.add(ServeFixtures.input(n, rnd));
            pool.put(n, ins);
        }
        AdapterRegistry.Options o = AdapterRegistry.Options.builder().maxLoadedAdapters(4).maxBatchRows(32).maxWaitMillis(2).queueCapacity(10_000)
                .requestTimeout(Duration.ofMinutes(10)).build();
        Gate gate = new Gate();
        try (AdapterRegistry r = AdapterRegistry.open(base, o)) {
            dirs.forEach(r::register);
            long t0 = System.nanoTime();
            Map<Key, Classification> expected = new LinkedHashMap<>();
            for (String n : names) for (Map<String, String> in : pool.get(n)) expected.put(new Key(n, in), r.classify(n, List.of(in)).join().get(0));
            double oneByOne = (System.nanoTime() - t0) / 1e9;
            r.addBatchListener(gate);

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger reloads = new AtomicInteger();
            Thread reloader = new Thread(() -> {
                Random rr = new Random(99);
                while (running.get()) {
                    String n = names.get(rr.nextInt(names.size()));
                    if (rr.nextBoolean()) r.load(n, dirs.get(n));
                    else r.register(n, dirs.get(n));
                    reloads.incrementAndGet();
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "reloader");
            Map<Integer, Throwable> failures = new ConcurrentHashMap<>();
            AtomicInteger checked = new AtomicInteger();
            List<Thread> clients = new ArrayList<>();
            long t1 = System.nanoTime();
            reloader.start();
            for (int c = 0; c < THREADS; c++) {
                int id = c;
                clients.add(new Thread(() -> {
                    Random cr = new Random(1000 + id);
                    ArrayDeque<Map.Entry<List<Key>, CompletableFuture<List<Classification>>>> flight = new ArrayDeque<>();
                    try {
                        for (int i = 0; i < REQUESTS; i++) {
                            String n = names.get(cr.nextInt(names.size()));
                            List<Key> keys = new ArrayList<>();
                            int rows = 1 + cr.nextInt(3);
                            for (int k = 0; k < rows; k++) keys.add(new Key(n, pool.get(n).get(cr.nextInt(pool.get(n).size()))));
                            flight.add(Map.entry(keys, r.classify(n, keys.stream().map(Key::input).toList())));
                            if (flight.size() >= IN_FLIGHT) check(flight.poll(), expected, checked);
                        }
                        while (!flight.isEmpty()) check(flight.poll(), expected, checked);
                    } catch (Throwable t) {
                        failures.put(id, t);
                    }
                }, "client-" + c));
            }
            clients.forEach(Thread::start);
            for (Thread t : clients) t.join();
            running.set(false);
            reloader.join();
            double concurrent = (System.nanoTime() - t1) / 1e9;
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " client threads failed");
                failures.values().forEach(e::addSuppressed);
                throw e;
            }
            System.out.printf("%d x %d requests (%d inputs checked) in %.1f s with %d reloads, %d batches (largest %d requests); %d inputs one by one in %.1f s%n",
                    THREADS, REQUESTS, checked.get(), concurrent, reloads.get(), gate.batches.size(), gate.largestBatch(), expected.size(), oneByOne);
            assertThat(checked.get()).isGreaterThanOrEqualTo(THREADS * REQUESTS);
            assertThat(reloads.get()).isPositive();
            assertThat(gate.largestBatch()).as("requests of several clients shared batches").isGreaterThan(1);
            // quiet again: no more versions in memory than the cap
            assertThat(r.installedAdapters().stream().map(t -> t.replaceAll("-soft$", "")).distinct().count()).isLessThanOrEqualTo(4);
        }
    }

    private static void check(Map.Entry<List<Key>, CompletableFuture<List<Classification>>> f, Map<Key, Classification> expected, AtomicInteger checked) {
        List<Classification> got = f.getValue().join();
        assertThat(got).hasSameSizeAs(f.getKey());
        for (int i = 0; i < got.size(); i++) {
            Key k = f.getKey().get(i);
            AdapterRegistryTest.assertSame(got.get(i), expected.get(k), 1e-5, k.adapter() + " " + k.input());
            checked.incrementAndGet();
        }
    }
}
