package io.peft4j.core.tensor;

import java.util.EnumMap;
import java.util.Map;

/**
 * Opt-in accounting of where the time goes, per thread: GEMMs versus elementwise ops. Off by default
 * (one branch per op); benchmarks switch it on to report a profile.
 */
public final class Profiler {
    /** What an op spends its time on. */
    public enum Kind { MATMUL, ELEMENTWISE }

    private static volatile boolean enabled;
    private static final ThreadLocal<Map<Kind, long[]>> TOTALS = ThreadLocal.withInitial(() -> new EnumMap<>(Kind.class));
    private static final Timer NOOP = new Timer(null, null, 0);
    private static final ThreadLocal<Map<String, long[]>> BACKWARD = ThreadLocal.withInitial(java.util.TreeMap::new);
    private static final ThreadLocal<Map<String, long[]>> OPS = ThreadLocal.withInitial(java.util.TreeMap::new);
    private static final ThreadLocal<long[]> FLOPS = ThreadLocal.withInitial(() -> new long[1]);

    private Profiler() {
    }

    public static void enable(boolean on) {
        enabled = on;
    }

    public static void reset() {
        TOTALS.get().clear();
        BACKWARD.get().clear();
        OPS.get().clear();
        FLOPS.get()[0] = 0;
    }

    private static final java.util.Set<String> INTERNAL = java.util.Set.of("result", "opName", "<init>", "start", "mm", "mmPlusBias", "broadcastOp", "gemmInto", "accumulateProduct");

    static boolean enabled() {
        return enabled;
    }

    /** The {@link Ops} method that is creating a result (for the backward profile); null when off. */
    static String opName() {
        if (!enabled) return null;
        return StackWalker.getInstance().walk(s -> s.map(StackWalker.StackFrame::getMethodName)
                .filter(n -> !INTERNAL.contains(n)).findFirst().orElse("?"));
    }

    static void backward(String op, long nanos) {
        BACKWARD.get().computeIfAbsent(op == null ? "?" : op, k -> new long[1])[0] += nanos;
    }

    /** Nanoseconds of backward passes per op on this thread since the last {@link #reset()}. */
    public static Map<String, Long> backwardTotals() {
        Map<String, Long> out = new java.util.TreeMap<>();
        BACKWARD.get().forEach((k, v) -> out.put(k, v[0]));
        return out;
    }

    /**
     * Nanoseconds per op and kind on this thread since the last {@link #reset()}, keyed {@code "op (kind)"}
     * (e.g. {@code "attention (matmul)"}); ops a backward pass runs are counted under their backward closure's name.
     */
    public static Map<String, Long> opTotals() {
        Map<String, Long> out = new java.util.TreeMap<>();
        OPS.get().forEach((k, v) -> out.put(k, v[0]));
        return out;
    }

    /** Counts a matrix product's floating-point operations (2·m·n·k per product) when profiling. */
    static void countGemm(long m, long n, long k, long products) {
        if (enabled) FLOPS.get()[0] += 2 * m * n * k * products;
    }

    /**
     * Floating-point operations of the matrix products run on this thread since the last {@link #reset()}:
     * the work a pass asks of the GEMMs, whatever their speed.
     */
    public static long gemmFlops() {
        return FLOPS.get()[0];
    }

    /** Nanoseconds spent per kind on this thread since the last {@link #reset()}. */
    public static Map<Kind, Long> totals() {
        Map<Kind, Long> out = new EnumMap<>(Kind.class);
        TOTALS.get().forEach((k, v) -> out.put(k, v[0]));
        return out;
    }

    static Timer start(Kind kind) {
        return enabled ? new Timer(kind, opName(), System.nanoTime()) : NOOP;
    }

    /** A measurement booked under {@code op} rather than the calling op. */
    static Timer start(Kind kind, String op) {
        return enabled ? new Timer(kind, op, System.nanoTime()) : NOOP;
    }

    /** A running measurement. */
    static final class Timer {
        private final Kind kind;
        private final String op;
        private final long start;

        private Timer(Kind kind, String op, long start) {
            this.kind = kind;
            this.op = op;
            this.start = start;
        }

        void stop() {
            if (kind == null) return;
            long took = System.nanoTime() - start;
            TOTALS.get().computeIfAbsent(kind, k -> new long[1])[0] += took;
            OPS.get().computeIfAbsent((op == null ? "?" : op) + " (" + kind.name().toLowerCase(java.util.Locale.ROOT) + ")", k -> new long[1])[0] += took;
        }
    }
}
