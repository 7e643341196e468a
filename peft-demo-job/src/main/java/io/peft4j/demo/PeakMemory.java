package io.peft4j.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The process's peak resident set: Linux's {@code VmHWM} in {@code /proc/self/status}, which counts native memory
 * (ND4J's arrays live outside the Java heap) as well as the heap. Elsewhere it is not available.
 *
 * <pre>{@code
 * Double mb = PeakMemory.megabytes();    // null without /proc
 * }</pre>
 */
public final class PeakMemory {
    private PeakMemory() {
    }

    /** The peak resident set of this process so far in MB (10^6 bytes), or null where {@code /proc/self/status} has none. */
    public static Double megabytes() {
        return megabytes(Path.of("/proc/self/status"));
    }

    /** The {@code VmHWM} line of a {@code /proc/<pid>/status} file in MB, or null when it cannot be read. */
    static Double megabytes(Path status) {
        try {
            List<String> lines = Files.readAllLines(status);
            for (String l : lines) {
                if (!l.startsWith("VmHWM:")) continue;
                String[] p = l.substring(6).trim().split("\\s+");
                long kb = Long.parseLong(p[0]);
                return kb * 1024 / 1e6;
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
