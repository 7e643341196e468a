package io.peft4j.fuzz;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs cases in forked JVMs ({@link FuzzChild}) with capped heap and native memory, a watchdog per case, and
 * crash attribution: a child that dies between a case's START and END lines (SIGSEGV, abort, exit) or that
 * outlives the case's time limit is recorded as that case's failure, and a fresh child goes on with the next
 * case. Several children run side by side, each on its share of the cases.
 */
final class FuzzHarness {
    /** One case's result. */
    record Result(String id, String kind, String mutation, String verdict, String category, String detail) {
        boolean failed() {
            return verdict.equals(FuzzChild.FAIL);
        }
    }

    /**
     * Settings: children side by side, per-case time limit, extra time for a fresh JVM's first case, the child's
     * address-space limit in MiB (0: none), its JVM options, and whether to keep each case's files.
     */
    record Settings(int workers, long caseTimeoutMs, long startupMs, long addressSpaceMb, List<String> jvmOptions, boolean keep) {
        static Settings defaults() {
            int workers = Integer.getInteger("peft4j.fuzz.workers", Math.min(2, Runtime.getRuntime().availableProcessors()));
            long timeout = Long.getLong("peft4j.fuzz.timeout", 20) * 1000;
            return new Settings(workers, timeout, 60_000, Long.getLong("peft4j.fuzz.addressSpaceMb", 6144),
                    List.of("-Xmx384m", "-Xss1m", "-XX:+UseSerialGC", "-XX:-CreateCoredumpOnCrash",
                            "-Dorg.bytedeco.javacpp.maxbytes=1G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=2G",
                            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"), Boolean.getBoolean("peft4j.fuzz.keep"));
        }
    }

    private final Path seeds, work;
    private final Settings settings;

    FuzzHarness(Path seeds, Path work, Settings settings) {
        this.seeds = seeds;
        this.work = work;
        this.settings = settings;
    }

    /** Runs every case (in id order within each worker's share) and returns the results in input order. */
    List<Result> run(List<String> ids) throws Exception {
        int w = Math.max(1, Math.min(settings.workers(), ids.size()));
        List<List<String>> shares = new ArrayList<>();
        for (int i = 0; i < w; i++) shares.add(new ArrayList<>());
        for (int i = 0; i < ids.size(); i++) shares.get(i % w).add(ids.get(i));
        Map<String, Result> results = Collections.synchronizedMap(new LinkedHashMap<>());
        List<Thread> threads = new ArrayList<>();
        List<Exception> errors = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < w; i++) {
            int worker = i;
            Thread t = new Thread(() -> {
                try {
                    runShare(worker, shares.get(worker), results);
                } catch (Exception e) {
                    errors.add(e);
                }
            }, "fuzz-worker-" + i);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        if (!errors.isEmpty()) throw errors.get(0);
        List<Result> out = new ArrayList<>();
        for (String id : ids) out.add(results.get(id));
        return out;
    }

    private void runShare(int worker, List<String> ids, Map<String, Result> results) throws Exception {
        Path list = work.resolve("cases-" + worker + ".txt");
        Files.write(list, ids);
        int next = 0;
        while (next < ids.size()) next = runChild(worker, list, ids, next, results);
    }

    /** Starts a child at case {@code first}; returns the index of the first case it did not finish. */
    private int runChild(int worker, Path list, List<String> ids, int first, Map<String, Result> results) throws Exception {
        Path stderr = work.resolve("child-" + worker + ".err");
        List<String> cmd = new ArrayList<>();
        if (settings.addressSpaceMb() > 0 && Files.isExecutable(Path.of("/bin/sh"))) {
            // ND4J allocates natively past JavaCPP's byte counts, and zeroes what it gets: without a limit on the address
            // space, one huge allocation takes gigabytes of the machine before maxphysicalbytes notices. A normal child
            // reserves about 3.5 GB of address space and touches 0.3 GB.
            cmd.addAll(List.of("/bin/sh", "-c", "ulimit -v " + settings.addressSpaceMb() * 1024 + " 2>/dev/null; exec \"$0\" \"$@\""));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(settings.jvmOptions());
        cmd.add("-XX:ErrorFile=" + work.resolve("hs_err_pid%p.log"));
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.addAll(List.of(FuzzChild.class.getName(), seeds.toString(), list.toString(), Integer.toString(first), work.toString(),
                Boolean.toString(settings.keep())));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        pb.environment().put("GOMP_SPINCOUNT", "0");
        pb.environment().put("OPENBLAS_THREAD_TIMEOUT", "16");
        // one thread per child: the tiny models gain nothing from more, and each thread's malloc arena reserves address space
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        Process proc = pb.start();
        proc.getOutputStream().close();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        String eof = new String("EOF");
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (IOException ignored) {
                // the child died; EOF below tells the worker
            }
            lines.add(eof);
        }, "fuzz-reader-" + worker);
        reader.setDaemon(true);
        reader.start();

        int index = first;                   // the case the child is on or will start next
        String current = null, mutation = null;
        List<String> noise = new ArrayList<>();
        boolean fresh = true;
        try {
            while (true) {
                long limit = settings.caseTimeoutMs() + (fresh ? settings.startupMs() : 0);
                String line = lines.poll(limit, TimeUnit.MILLISECONDS);
                if (line == null) {
                    proc.destroyForcibly().waitFor();
                    if (current == null) throw new IllegalStateException("fuzz child started no case in " + limit + " ms; stderr: " + tail(stderr));
                    results.put(current, new Result(current, Cases.kindOf(current), mutation, FuzzChild.FAIL, "hang",
                            "no result after " + limit / 1000 + " s (killed)"));
                    return index + 1;
                }
                if (line == eof) {
                    int code = proc.waitFor();
                    if (current != null) {
                        String banner = noise.stream().filter(l -> l.contains("SIG") || l.contains("Problematic frame") || l.startsWith("# C  ")
                                || l.startsWith("# V  ") || l.startsWith("# j  ")).collect(Collectors.joining(" | "));
                        Path hsErr = work.resolve("hs_err_pid" + proc.pid() + ".log");
                        results.put(current, new Result(current, Cases.kindOf(current), mutation, FuzzChild.FAIL, "JVM crash",
                                "exit code " + code + (banner.isEmpty() ? "" : "; " + banner) + "; stderr: " + tail(stderr)
                                        + (Files.exists(hsErr) ? "; " + hsErr : "")));
                        return index + 1;
                    }
                    if (index < ids.size() && code != 3) {
                        throw new IllegalStateException("fuzz child exited with code " + code + " before case " + ids.get(index) + "; stderr: " + tail(stderr));
                    }
                    return index;
                }
                if (line.startsWith("@@START ")) {
                    String[] p = line.substring(8).split("\t", 2);
                    current = p[0];
                    mutation = p.length > 1 ? p[1] : "";
                    noise.clear();
                    fresh = false;
                } else if (line.startsWith("@@END ")) {
                    String[] p = line.substring(6).split("\t", 4);
                    results.put(p[0], new Result(p[0], Cases.kindOf(p[0]), mutation, p[1], p.length > 2 ? p[2] : "", p.length > 3 ? p[3] : ""));
                    current = null;
                    index++;
                } else if (noise.size() < 200) {
                    noise.add(line);
                }
            }
        } finally {
            if (proc.isAlive()) proc.destroyForcibly().waitFor();
        }
    }

    /** The test class path: surefire's real one where it hides it behind a manifest-only jar. */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    private static String tail(Path file) {
        try {
            if (!Files.exists(file)) return "";
            List<String> l = Files.readAllLines(file, StandardCharsets.ISO_8859_1).stream().filter(s -> !s.isBlank()).toList();
            return FuzzChild.oneLine(String.join(" | ", l.subList(Math.max(0, l.size() - 4), l.size())));
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    // ------------------------------------------------------------------ reporting

    /** Verdict counts per kind, e.g. {@code lora: 160 cases, 98 loaded, 60 rejected, 2 failed}. */
    static String counts(List<Result> results) {
        Map<String, int[]> byKind = new TreeMap<>();
        for (Result r : results) {
            int[] c = byKind.computeIfAbsent(r.kind(), k -> new int[3]);
            c[r.verdict().equals(FuzzChild.OK) ? 0 : r.verdict().equals(FuzzChild.REJECTED) ? 1 : 2]++;
        }
        StringBuilder s = new StringBuilder();
        byKind.forEach((k, c) -> s.append(String.format("  %-26s %6d cases: %6d loaded, %6d rejected, %5d failed%n", k, c[0] + c[1] + c[2], c[0], c[1], c[2])));
        return s.toString();
    }

    /**
     * The failures grouped by category and message (numbers, quoted names and paths made alike), largest group
     * first, each with a few case ids and their mutations.
     */
    static String summary(List<Result> results, String rerun) {
        Map<String, List<Result>> groups = new LinkedHashMap<>();
        for (Result r : results) if (r.failed()) groups.computeIfAbsent(r.category() + ": " + normalise(r.detail()), k -> new ArrayList<>()).add(r);
        List<Map.Entry<String, List<Result>>> sorted = new ArrayList<>(groups.entrySet());
        sorted.sort((a, b) -> b.getValue().size() - a.getValue().size());
        long failed = results.stream().filter(Result::failed).count();
        StringBuilder s = new StringBuilder();
        s.append(failed).append(" of ").append(results.size()).append(" cases failed, in ").append(groups.size()).append(" groups:\n");
        for (var g : sorted) {
            List<Result> rs = g.getValue();
            String kinds = rs.stream().map(Result::kind).distinct().sorted().collect(Collectors.joining(", "));
            s.append(String.format("%n[%d x] %s%n    kinds: %s%n", rs.size(), FuzzChild.oneLine(rs.get(0).category() + ": " + rs.get(0).detail()), kinds));
            for (Result r : rs.subList(0, Math.min(3, rs.size()))) {
                s.append("    ").append(r.id()).append("  (").append(r.mutation()).append(")\n");
            }
        }
        s.append("\nRerun one case: ").append(rerun).append('\n');
        return s.toString();
    }

    private static String normalise(String detail) {
        return detail.replaceAll("^[^ :]*: ", "…: ")                // the file a message starts with
                .replaceAll("0x[0-9a-fA-F]+", "0x…")
                .replaceAll("'[^']*'", "'…'")
                .replaceAll("\\[[-0-9, ]*\\]", "[…]")
                .replaceAll("-?\\d+", "N");
    }
}
