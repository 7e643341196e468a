package io.peft4j.fuzz;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The loader fuzz suite (see README.md): every mutated model, adapter, head or tokenizer file must either load and
 * run, or raise a {@code PeftException} naming the file; never another exception, an out-of-memory error, a hang or
 * a JVM crash. Cases run in forked JVMs ({@link FuzzHarness}); all failures are collected and reported together,
 * grouped, with the case ids that reproduce them.
 *
 * <p>System properties: {@code peft4j.fuzz.cases} (random cases, default 3000), {@code peft4j.fuzz.seed} (default 0),
 * {@code peft4j.fuzz.kinds} (comma-separated kind names, default all), {@code peft4j.fuzz.case} (run only these
 * comma-separated case ids), {@code peft4j.fuzz.workers}, {@code peft4j.fuzz.timeout} (seconds per case, default 20),
 * {@code peft4j.fuzz.keep} (keep each case's files under {@code target/fuzz/work}).
 */
class LoaderFuzzTest {
    private static final Path ROOT = Path.of("target", "fuzz").toAbsolutePath();
    private static final String RERUN = "mvn -B -pl peft-fuzz -am verify -Dtest=LoaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false "
            + "-Dpeft4j.fuzz.case=<id> [-Dpeft4j.fuzz.keep=true]";
    private static Path seeds;

    @BeforeAll
    static void buildSeeds() throws Exception {
        FuzzChild.deleteTree(ROOT);
        seeds = Files.createDirectories(ROOT.resolve("seeds"));
        Seeds.build(seeds);
    }

    /** Every kind's seed, unchanged, loads and runs (else its mutants test nothing but the first check that fails). */
    @Test
    void everySeedLoadsAndRuns() throws Exception {
        assumeTrue(System.getProperty("peft4j.fuzz.case", "").isBlank(), "-Dpeft4j.fuzz.case runs the given cases only");
        check("seeds", Cases.seedIds());
    }

    /** The defects of issues 14 and 15 and their message faults, each built on purpose, must be rejected with an error naming the file. */
    @Test
    void regressionCasesAreRejectedWithMessagesNamingTheFile() throws Exception {
        assumeTrue(System.getProperty("peft4j.fuzz.case", "").isBlank(), "-Dpeft4j.fuzz.case runs the given cases only");
        check("regression", Cases.regressionIds());
    }

    /** Random mutations of every kind's seed files (or the cases given by -Dpeft4j.fuzz.case). */
    @Test
    void mutatedFilesLoadOrFailWithAPeftExceptionNamingTheFile() throws Exception {
        String only = System.getProperty("peft4j.fuzz.case", "");
        List<String> ids;
        if (!only.isBlank()) {
            ids = Arrays.stream(only.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        } else {
            String kinds = System.getProperty("peft4j.fuzz.kinds", "");
            List<FileKind> selected = kinds.isBlank() ? FileKinds.ALL
                    : Arrays.stream(kinds.split(",")).map(String::strip).map(FileKinds::byName).toList();
            ids = Cases.randomIds(selected, Long.getLong("peft4j.fuzz.seed", 0), Integer.getInteger("peft4j.fuzz.cases", 3000));
        }
        check("random", ids);
    }

    private static void check(String name, List<String> ids) throws Exception {
        Path work = Files.createDirectories(ROOT.resolve("work-" + name));
        long t0 = System.nanoTime();
        List<FuzzHarness.Result> results = new FuzzHarness(seeds, work, FuzzHarness.Settings.defaults()).run(ids);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String counts = String.format("%s: %d cases in %.1f s%n%s", name, ids.size(), seconds, FuzzHarness.counts(results));
        System.out.print(counts);
        StringBuilder report = new StringBuilder(counts);
        for (FuzzHarness.Result r : results) {
            if (r.failed()) report.append(String.join("\t", r.id(), r.category(), r.detail(), r.mutation())).append('\n');
        }
        Files.writeString(ROOT.resolve("report-" + name + ".txt"), report, StandardCharsets.UTF_8);
        try (var all = Files.newBufferedWriter(ROOT.resolve("results-" + name + ".tsv"), StandardCharsets.UTF_8)) {
            for (FuzzHarness.Result r : results) all.write(String.join("\t", r.id(), r.verdict(), r.category(), r.detail(), r.mutation()) + "\n");
        }
        if (results.stream().anyMatch(FuzzHarness.Result::failed)) {
            fail(counts + "\n" + FuzzHarness.summary(results, RERUN) + "All failures: " + ROOT.resolve("report-" + name + ".txt"));
        }
    }
}
