package io.peft4j.spark;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What an executor JVM keeps between tasks: models (a frozen base with the driver's adapters, a loaded classifier), built
 * once and reused by every later task of any job. A model runs one pass at a time, and Spark runs several tasks at once
 * in one executor (in local mode, every task is a thread of the one JVM), so each key holds a small pool: a task
 * {@linkplain #borrow borrows} an idle instance (building one when none is idle), has it to itself, and gives it back.
 * A task that fails drops its instance instead, so no half-updated model is reused. At most {@link #MAX_KEYS} keys are
 * kept; the least recently used goes first.
 */
final class ExecutorCache {
    /** Distinct models kept per JVM ({@code -Dpeft4j.spark.cachedModels=N}). */
    static final int MAX_KEYS = Integer.getInteger("peft4j.spark.cachedModels", 4);

    private static final Map<String, Deque<Object>> IDLE = new LinkedHashMap<>(16, 0.75f, true);
    private static long built;

    private ExecutorCache() {
    }

    /** An idle instance under {@code key}, or a new one from {@code build} (built outside the lock). */
    @SuppressWarnings("unchecked")
    static <T> T borrow(String key, Supplier<T> build) {
        synchronized (IDLE) {
            Deque<Object> idle = IDLE.get(key);
            if (idle != null && !idle.isEmpty()) return (T) idle.pop();
        }
        T made = build.get();
        synchronized (IDLE) {
            built++;
        }
        return made;
    }

    /** Puts {@code value} back as idle under {@code key}. */
    static void giveBack(String key, Object value) {
        synchronized (IDLE) {
            IDLE.computeIfAbsent(key, k -> new ArrayDeque<>()).push(value);
            for (Iterator<String> it = IDLE.keySet().iterator(); IDLE.size() > MAX_KEYS && it.hasNext(); ) {
                it.next();
                it.remove();
            }
        }
    }

    /** Instances built in this JVM so far (tests: a model is loaded once per executor and task slot, not per task). */
    static long built() {
        synchronized (IDLE) {
            return built;
        }
    }
}
