package io.peft4j.demo;

import io.peft4j.core.PeftException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a method runs. {@link #forked} (what {@code peft demo} uses): each method in a JVM of its own, which loads
 * the model afresh and reports its peak resident set ({@link PeakMemory}) at the end, so a row's memory is that
 * method's alone (ND4J keeps its workspaces and the allocator keeps freed pages, so a peak measured in a shared
 * process would carry earlier methods' memory), and full fine-tuning's changed weights die with its JVM.
 * {@link #inProcess}: every method in this JVM, sharing one loaded model; no peak memory (null, "n/a").
 *
 * <pre>{@code
 * Demo.Outcome o = Demo.run(cfg, MethodRunner.forked(), new Demo.Listener() { });
 * Row lora = MethodRunner.inProcess().run(DemoMethods.byName("lora"), context, Path.of("peft-demo/plan.json"));
 * }</pre>
 */
public interface MethodRunner {
    /** Runs {@code method} for the plan written at {@code planFile}, reporting progress through {@code ctx}. */
    Row run(DemoMethod method, DemoContext ctx, Path planFile);

    /** Every method in this JVM; rows carry no peak memory. */
    static MethodRunner inProcess() {
        return (method, ctx, planFile) -> method.run(ctx);
    }

    /**
     * Each method in a child JVM started with this JVM's java, class path and heap and system-property options (and the
     * context's {@linkplain DemoContext#checkpoints() checkpoint directory}); its log (stderr) goes to
     * {@code logs/<method>.log} beside the plan file.
     */
    static MethodRunner forked() {
        return new Forked();
    }

    /** The child JVM runner. */
    final class Forked implements MethodRunner {
        private static final Logger LOG = LoggerFactory.getLogger(Forked.class);

        @Override
        public Row run(DemoMethod method, DemoContext ctx, Path planFile) {
            Path dir = planFile.toAbsolutePath().getParent();
            Path log = dir.resolve("logs").resolve(method.name() + ".log");
            Path rowFile = dir.resolve("rows").resolve("." + method.name() + ".child.json");
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(jvmOptions());
            cmd.add("-cp");
            cmd.add(classPath());
            cmd.addAll(List.of(DemoWorker.class.getName(), planFile.toAbsolutePath().toString(), method.name(), rowFile.toString()));
            if (ctx.checkpoints() != null) cmd.add(ctx.checkpoints().toAbsolutePath().toString());
            Process proc;
            try {
                Files.createDirectories(log.getParent());
                Files.createDirectories(rowFile.getParent());
                Files.deleteIfExists(rowFile);
                proc = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
            } catch (IOException e) {
                throw new PeftException("cannot start a JVM for method " + method.name() + ": " + e.getMessage(), e);
            }
            Thread killer = new Thread(proc::destroyForcibly, "demo-child-killer");
            Runtime.getRuntime().addShutdownHook(killer);
            String error = null;
            try {
                proc.getOutputStream().close();
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.startsWith(DemoWorker.PROGRESS)) {
                            String[] p = line.substring(DemoWorker.PROGRESS.length()).split("\t");
                            if (p.length == 3) ctx.progress(p[0], Long.parseLong(p[1]), Long.parseLong(p[2]));
                        } else if (line.startsWith(DemoWorker.ERROR)) {
                            error = line.substring(DemoWorker.ERROR.length());
                        } else {
                            LOG.debug("{}: {}", method.name(), line);
                        }
                    }
                }
                int code = proc.waitFor();
                if (code != 0 || !Files.isRegularFile(rowFile)) {
                    String why = error != null ? error : "exit code " + code + (code == 137 || code == 9 ? " (killed: out of memory?)" : "") + "; " + tail(log);
                    throw new PeftException("method " + method.name() + " failed: " + why + " (log: " + log + ")");
                }
                Row row = Row.read(rowFile);
                Files.deleteIfExists(rowFile);
                return row;
            } catch (IOException e) {
                throw new PeftException("method " + method.name() + ": lost its JVM: " + e.getMessage() + " (log: " + log + ")", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PeftException("method " + method.name() + ": interrupted");
            } finally {
                if (proc.isAlive()) proc.destroyForcibly();
                try {
                    Runtime.getRuntime().removeShutdownHook(killer);
                } catch (IllegalStateException ignored) {
                    // shutting down: the hook runs
                }
            }
        }

        /** This JVM's heap, -XX and -D options (not agents or debuggers), and a headless AWT. */
        static List<String> jvmOptions() {
            List<String> out = new ArrayList<>();
            for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xss") || a.startsWith("-XX:") || a.startsWith("-D")) out.add(a);
            }
            out.add("-Djava.awt.headless=true");
            return out;
        }

        /** This JVM's class path (surefire's real one where it hides it behind a manifest-only jar). */
        static String classPath() {
            String cp = System.getProperty("surefire.test.class.path");
            return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
        }

        private static String tail(Path log) {
            try {
                if (!Files.exists(log)) return "no log";
                List<String> l = Files.readAllLines(log, StandardCharsets.ISO_8859_1).stream().filter(s -> !s.isBlank()).toList();
                return String.join(" | ", l.subList(Math.max(0, l.size() - 3), l.size()));
            } catch (IOException e) {
                return "(" + e.getMessage() + ")";
            }
        }
    }
}
