package io.peft4j.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine a result was measured on: the CPU model (with AVX2 or
 * AVX-512 where the CPU has it), the cores the JVM sees, the Java version, the date, and the JVM and OS: what the demo's
 * {@code results.json}, the results in {@code docs/results/} and the benchmark pages record beside their numbers.
 *
 * <pre>{@code
 * Map<String, Object> m = Machine.describe();   // {cpu=Intel(R) Xeon(R) ... (AVX-512), cores=2, java=17.0.12, date=2025-01-31, ...}
 * }</pre>
 */
public final class Machine {
    private Machine() {
    }

    /** The machine now. */
    public static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.version"));
        m.put("date", LocalDate.now().toString());
        m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return m;
    }

    /** {@code model name} from {@code /proc/cpuinfo} (with its widest AVX), or the OS's architecture where there is none (not Linux). */
    public static String cpuModel() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            String flags = lines.stream().filter(l -> l.startsWith("flags")).findFirst().orElse("") + " ";
            for (String line : lines) {
                if (line.startsWith("model name")) {
                    String model = line.substring(line.indexOf(':') + 1).strip();
                    return model + (flags.contains(" avx512f ") ? " (AVX-512)" : flags.contains(" avx2 ") ? " (AVX2)" : "");
                }
            }
        } catch (IOException | SecurityException e) {
            // not Linux: the architecture below
        }
        return System.getProperty("os.arch");
    }

    /** The one-line form the results pages use: {@code CPU, N cores, Java V, DATE}; what a record lacks is left out. */
    public static String line(Map<String, ?> m) {
        StringBuilder b = new StringBuilder();
        if (m.get("cpu") != null) b.append(m.get("cpu")).append(", ");
        if (m.get("cores") != null) b.append(m.get("cores")).append(" cores, ");
        if (m.get("java") != null) b.append("Java ").append(m.get("java")).append(", ");
        else if (m.get("jvm") != null) b.append(m.get("jvm")).append(", ");
        if (m.get("date") != null) b.append(m.get("date")).append(", ");
        return b.length() == 0 ? "machine not recorded" : b.substring(0, b.length() - 2);
    }
}
