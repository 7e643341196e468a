package io.peft4j.fuzz;

import java.nio.file.Path;
import java.util.List;

/**
 * One kind of file peft4j reads, as the fuzzer sees it: how to write a valid seed directory, which of its
 * files a case mutates (one per case, drawn from {@code targets}; list a file twice to draw it twice as often),
 * and how to load the directory with the real API and run the result once. Register new kinds in
 * {@link FileKinds#ALL}.
 *
 * @param name    the kind's name in case ids and {@code -Dpeft4j.fuzz.kinds}
 * @param seed    writes the valid files into an empty directory (runs once, in the test JVM)
 * @param targets paths relative to the directory that cases mutate
 * @param action  loads the directory and runs it once (runs per case, in the forked JVM)
 */
record FileKind(String name, Seed seed, List<String> targets, Action action) {
    /** Writes a kind's seed files into {@code dir}; {@code root} holds the other seeds and the bases. */
    interface Seed {
        void write(Path dir, Path root) throws Exception;
    }

    /** Loads {@code dir} with peft4j's API, calls {@link Env#running()} once loaded, then uses the result. */
    interface Action {
        void run(Path dir, Env env) throws Exception;
    }

    /** What an action may use besides its directory. */
    interface Env {
        /** The seed corpus root ({@link Seeds#BASE_GPT2}, {@link Seeds#BASE_BERT} live there). */
        Path seeds();

        /** Marks the end of loading: exceptions after this are raised while running a loaded file. */
        void running();
    }
}
