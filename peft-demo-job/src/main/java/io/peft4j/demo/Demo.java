package io.peft4j.demo;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.Sha256;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.PromptArgument;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The demo: every way of adapting a frozen model compared on one task, a row per method ({@link DemoMethods}), each
 * saved to {@code rows/<method>.json} in the output directory as soon as it finishes; then {@code results.md},
 * {@code results.json} and {@code results.png} from all the rows there made with the same model, task, data and
 * settings ({@link Reports}).
 *
 * <p>Reruns: a method whose row is already in the output directory with the same fingerprint (a SHA-256 over the
 * plan, i.e. model, task and every setting, the records the methods see, a prompt file's content, and the method's name) is not run again
 * unless {@link Config#force()}; a row made with other settings (say, {@code --full} against the default budget)
 * is never reused: that method runs again and its row is replaced. So an interrupted demo loses at most the method
 * it was running; with {@code --full}, whose methods train for hours, at most a twentieth of its training: a trained method
 * checkpoints its training in {@code checkpoints/<method>-<key>} ({@link DemoContext#checkpoints()}) and a rerun continues
 * from there, exactly as the uninterrupted run (the checkpoints are deleted once the row is saved).
 *
 * <pre>{@code
 * var cfg = new Demo.Config("bert-base-uncased", DemoTask.builtin("spam"), DemoMethods.ALL, false, Path.of("peft-demo"), false, 42,
 *         DemoSettings.Budget.defaults());
 * Demo.Outcome o = Demo.run(cfg, MethodRunner.forked(), new Demo.Listener() { });
 * }</pre>
 */
public final class Demo {
    private Demo() {
    }

    /**
     * What to run.
     *
     * @param model   the model's name or directory
     * @param task    the data and zero-shot prompt
     * @param methods the methods (run in {@link DemoMethods#ALL}'s order)
     * @param full    all the data and each method's usual settings instead of the budget
     * @param output  the output directory
     * @param force   run every method even when its row is already there
     * @param seed    seeds samples, initialisation and data order
     * @param budget  the default budget's sizes
     */
    public record Config(String model, DemoTask task, List<DemoMethod> methods, boolean full, Path output, boolean force, long seed,
                         DemoSettings.Budget budget) {
        public Config {
            methods = DemoMethods.ALL.stream().filter(methods::contains).toList();
            if (methods.isEmpty()) throw new PeftException("no method to run");
        }
    }

    /** What the demo reports while it runs. Every method has an empty default. */
    public interface Listener {
        /** The settings chosen, before any method runs; {@code description} says them in words. */
        default void settings(Plan plan, String description) {
        }

        /** Method {@code index} (1-based) of {@code count} starts. */
        default void started(int index, int count, DemoMethod method) {
        }

        /** {@code done} of {@code total} units of {@code stage} of the running method. */
        default void progress(DemoMethod method, String stage, long done, long total) {
        }

        /** Method {@code index} finished with {@code row}; {@code reused} when the row came from an earlier run. */
        default void finished(int index, int count, Row row, boolean reused) {
        }

        /** Method {@code index} failed; the demo goes on with the others. */
        default void failed(int index, int count, DemoMethod method, String message) {
        }
    }

    /**
     * How a demo ended.
     *
     * @param plan    the plan it ran
     * @param rows    the rows of the report, in run order (this run's and reused ones, and earlier rows of other
     *                methods made with the same plan)
     * @param ran     the methods this run ran (not reused)
     * @param failed  a message per failed method
     * @param results {@code results.md}; {@code results.json} and {@code results.png} are beside it
     */
    public record Outcome(Plan plan, List<Row> rows, List<String> ran, List<String> failed, Path results) {
    }

    /** Runs the demo; bad input (task, data, output directory) is a {@link PeftException} before any method runs. */
    public static Outcome run(Config cfg, MethodRunner runner, Listener listener) {
        Path out = prepareOutput(cfg.output());
        DemoTask task = cfg.task();
        if (cfg.methods().stream().anyMatch(m -> m.name().equals("zero-shot")) && !task.hasPrompt()) {
            throw new PeftException("zero-shot: task '" + task.name() + "' has no zero-shot prompt: give --template and --verbalizer, or leave zero-shot out of --methods");
        }
        List<TextRecord> train = task.loadTrain(), dev = task.loadDev();
        if (train.isEmpty()) throw PeftException.inFile(task.train(), "no training records");
        if (dev.isEmpty()) throw PeftException.inFile(task.dev(), "no dev records");
        Map<String, Integer> counts = Labels.counts(train);
        if (counts.size() < 2) {
            throw PeftException.inFile(task.train(), "the training data has one class (" + counts.keySet().iterator().next()
                    + "): there is nothing to tell apart; a comparison needs at least two labels");
        }
        Map<String, Integer> devCounts = Labels.counts(dev);
        List<String> unseen = devCounts.keySet().stream().filter(l -> !counts.containsKey(l)).toList();
        if (!unseen.isEmpty()) {
            throw PeftException.inFile(task.dev(), "labels " + unseen + " do not occur in the training data " + counts.keySet()
                    + ": no method can learn them");
        }
        if (cfg.methods().stream().anyMatch(m -> m.name().equals("zero-shot"))) {
            try {
                Template t = task.parsedTemplate();
                if (!t.hasMask()) throw new PeftException(t.describe() + " has no {mask}: the zero-shot row reads the masked LM's answer there");
                ClassifierTraining.forData(t, task.spec().textFields()).requireFields(train.get(0).fields().keySet(), task.train());
                task.parsedVerbalizer().checkLabels(counts.keySet(), task.train());
            } catch (PeftException e) {
                throw new PeftException("zero-shot: " + e.getMessage(), e);
            }
        }
        Path modelDir = ModelHub.resolve(cfg.model());
        Tokenizer tokenizer = Tokenizers.load(modelDir);
        ModelConfig mc = ModelConfig.load(modelDir.resolve("config.json"));
        DemoSettings settings = DemoSettings.choose(cfg.full(), cfg.budget(), train, dev, task.spec(), tokenizer, mc.maxPositions(), cfg.seed());
        Plan plan = new Plan(cfg.model(), task, settings);
        listener.settings(plan, settings.describe(train.size(), dev.size()));

        int[] index = {0};
        DemoMethod[] current = {null};
        DemoContext ctx = DemoContext.of(plan, train, dev, (stage, done, total) -> listener.progress(current[0], stage, done, total));
        String fingerprint = fingerprint(plan, ctx);
        Path planFile = out.resolve("plan.json");
        plan.write(planFile);

        List<String> ran = new ArrayList<>(), failed = new ArrayList<>();
        int n = cfg.methods().size();
        for (DemoMethod m : cfg.methods()) {
            int i = ++index[0];
            String key = key(fingerprint, m);
            Path rowFile = rowFile(out, m);
            Row previous = cfg.force() ? null : readRow(rowFile);
            if (previous != null && previous.key().equals(key)) {
                listener.finished(i, n, previous, true);
                continue;
            }
            current[0] = m;
            Path checkpoints = checkpointDir(out, m, key);
            dropOtherCheckpoints(out, m, cfg.force() ? null : checkpoints);
            ctx.checkpoints(cfg.full() ? checkpoints : null);
            listener.started(i, n, m);
            try {
                Row row = runner.run(m, ctx, planFile);
                row = row.with(row.peakRssMb(), key);
                Json.write(rowFile, row.toJson());
                AtomicFiles.deleteTree(checkpoints);
                ran.add(m.name());
                listener.finished(i, n, row, false);
            } catch (RuntimeException e) {
                String msg = e instanceof PeftException ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
                failed.add(m.name() + ": " + msg);
                listener.failed(i, n, m, msg);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (DemoMethod m : DemoMethods.ALL) {
            Row r = readRow(rowFile(out, m));
            if (r != null && r.key().equals(key(fingerprint, m))) rows.add(r);
        }
        Path results = Reports.write(out, plan, settings.describe(train.size(), dev.size()), rows);
        return new Outcome(plan, rows, ran, failed, results);
    }

    /** {@code <output>/rows/<method>.json}. */
    public static Path rowFile(Path output, DemoMethod m) {
        return output.resolve("rows").resolve(m.name() + ".json");
    }

    /**
     * {@code <output>/checkpoints/<method>-<key>}: where method {@code m} keeps its training's checkpoints with
     * {@code --full}, named by the row's key so that a checkpoint made with other settings or data is never continued.
     */
    static Path checkpointDir(Path output, DemoMethod m, String key) {
        return output.resolve("checkpoints").resolve(m.name() + "-" + key.substring(0, 16));
    }

    /** Deletes method {@code m}'s checkpoint directories other than {@code keep} (all of them when it is null). */
    private static void dropOtherCheckpoints(Path output, DemoMethod m, Path keep) {
        Path root = output.resolve("checkpoints");
        if (!Files.isDirectory(root)) return;
        try (var dirs = Files.list(root)) {
            for (Path d : dirs.toList()) {
                if (d.getFileName().toString().matches(java.util.regex.Pattern.quote(m.name()) + "-[0-9a-f]{16}") && !d.equals(keep)) AtomicFiles.deleteTree(d);
            }
        } catch (IOException e) {
            throw PeftException.inFile(root, "cannot be listed: " + e.getMessage());
        }
    }

    /** A row file's row, or null when there is none or it cannot be read (it is then made again). */
    private static Row readRow(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return Row.read(file);
        } catch (PeftException e) {
            return null;
        }
    }

    /** Creates the output directory (and rows/) and checks that files can be written there. */
    static Path prepareOutput(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw PeftException.inFile(dir, "the output directory is a file");
        AtomicFiles.requireWritableDirectory(dir.resolve("rows"), "the output directory");
        return dir;
    }

    /** SHA-256 over the plan's JSON and the records every method sees (fields and label). */
    static String fingerprint(Plan plan, DemoContext ctx) {
        MessageDigest md = Sha256.digest();
        Sha256.update(md, Json.MAPPER.valueToTree(plan.toJson()).toString());
        for (String prompt : java.util.Arrays.asList(plan.task().template(), plan.task().verbalizer())) {
            if (prompt == null || !PromptArgument.isFile(prompt)) continue;
            Path f = Path.of(prompt);
            try {
                md.update(Files.readAllBytes(f));       // a prompt file's content, not only its name
            } catch (IOException e) {
                throw PeftException.inFile(f, "cannot be read: " + e.getMessage());
            }
        }
        for (List<TextRecord> part : List.of(ctx.allTrain(), ctx.train(), ctx.dev())) {
            Sha256.update(md, "|" + part.size());
            for (TextRecord r : part) Sha256.update(md, r.fields().toString() + "\u0000" + r.label());
        }
        return Sha256.hex(md);
    }

    private static String key(String fingerprint, DemoMethod m) {
        MessageDigest md = Sha256.digest();
        Sha256.update(md, fingerprint + "|" + m.name());
        return Sha256.hex(md).substring(0, 32);
    }
}
