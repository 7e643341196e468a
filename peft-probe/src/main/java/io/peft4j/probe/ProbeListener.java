package io.peft4j.probe;

/**
 * Progress of a probing run, for a progress bar: {@link Stage#EXTRACT} counts examples through the model,
 * {@link Stage#PROBE} counts fitted probes (one per layer, pooling and probe kind). Called on the running thread.
 *
 * <pre>{@code
 * ProbeListener l = (stage, done, total) -> System.err.printf("%s %d/%d%n", stage, done, total);
 * }</pre>
 */
@FunctionalInterface
public interface ProbeListener {
    /** What is being counted. */
    enum Stage {
        /** Examples whose features have been extracted (not reported when the features come from the cache). */
        EXTRACT,
        /** Probes fitted and evaluated. */
        PROBE
    }

    /** {@code done} of {@code total} units of {@code stage} are finished. */
    void progress(Stage stage, int done, int total);

    /** A listener that ignores everything. */
    ProbeListener NONE = (stage, done, total) -> {
    };
}
