package io.peft4j.benchmarks.results;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.Map;

/** The machine a result was measured on: CPU model, cores, JVM, date. */
final class Machine {
    private Machine() {
    }

    static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.version"));
        m.put("date", LocalDate.now().toString());
        return m;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    String model = line.substring(line.indexOf(':') + 1).strip();
                    String flags = Files.readString(Path.of("/proc/cpuinfo"));
                    return model + (flags.contains("avx512f") ? " (AVX-512)" : flags.contains("avx2") ? " (AVX2)" : "");
                }
            }
        } catch (Exception e) {
            // not Linux: say so
        }
        return System.getProperty("os.arch");
    }
}
