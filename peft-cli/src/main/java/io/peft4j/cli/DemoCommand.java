package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.demo.Demo;
import io.peft4j.demo.DemoMethod;
import io.peft4j.demo.DemoMethods;
import io.peft4j.demo.DemoSettings;
import io.peft4j.demo.DemoTask;
import io.peft4j.demo.MethodRunner;
import io.peft4j.demo.Plan;
import io.peft4j.demo.Reports;
import io.peft4j.demo.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The main job: every way of adapting a frozen model compared on one task (default: BERT-base-uncased on the built-in spam task): "
                + "majority class, TF-IDF + logistic regression, zero-shot template + verbalizer, linear probe (best layer), prompt tuning, "
                + "P-tuning, prefix tuning, bottleneck adapter (Pfeiffer), LoRA, IA3, full fine-tuning. A table row per method "
                + "(trainable parameters, dev accuracy, macro-F1, training time, peak memory); results.md, results.json and results.png in --output.",
                "By default about 15 minutes on a 2-core machine (a sample of the data, short texts, a few dozen steps per method; the choice is "
                        + "printed first); --full uses all the data and each method's usual settings. A rerun skips the methods whose results "
                        + "are already in --output (made with the same settings) unless --force. See docs/demo.md."})
final class DemoCommand implements Runnable {
    @Option(names = "--task", defaultValue = "spam", description = "A built-in task (default ${DEFAULT-VALUE}; see 'peft datasets').")
    String task;
    @Option(names = "--data", paramLabel = "FILE", description = "Your own training data instead of --task: a JSON-lines, CSV or TSV file (needs --dev).")
    Path data;
    @Option(names = "--dev", paramLabel = "FILE", description = "Your own dev data (with --data), read like it.")
    Path dev;
    @Option(names = "--text-field", paramLabel = "FIELD[,FIELD2]", description = "With --data: the text field, or two for a pair (default: text).")
    String textField;
    @Option(names = "--label-field", paramLabel = "FIELD", description = "With --data: the label field (default: label).")
    String labelField;
    @Mixin
    PromptOptions prompt;
    @Option(names = "--methods", paramLabel = "M,M,...",
            description = "Run only these (in the demo's order): majority, tfidf, zero-shot, probe, prompt, ptuning, prefix, adapter, lora, ia3, full (default: all).")
    String methods;
    @Option(names = "--full", description = "All the data and each method's usual settings (hours with BERT-base) instead of the 15-minute budget.")
    boolean full;
    @Option(names = "--output", defaultValue = "peft-demo", description = "Output directory (default ./${DEFAULT-VALUE}).")
    Path output;
    @Option(names = "--force", description = "Run every method again, even those whose results are already in --output.")
    boolean force;
    @Option(names = "--model", defaultValue = "bert-base-uncased", description = "Model (default ${DEFAULT-VALUE}).")
    String model;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of the samples, initialisation and data order (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--in-process", description = "Run every method in this JVM (faster to start; no per-method peak memory).")
    boolean inProcess;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    static final int[] WIDTHS = {20, 16, 11, 12, 9, 13, 11};

    @Override
    public void run() {
        DemoTask t = task();
        List<DemoMethod> chosen;
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (methods != null) {
            chosen = DemoMethods.parse(methods);
        } else {
            chosen = DemoMethods.ALL.stream().filter(m -> t.hasPrompt() || !m.name().equals("zero-shot")).toList();
            if (!t.hasPrompt()) err.println("peft demo: no zero-shot row: task '" + t.name() + "' has no prompt (give --template and --verbalizer)");
        }
        var cfg = new Demo.Config(model, t, chosen, full, output, force, seed, DemoSettings.Budget.defaults());
        boolean bars = progress.on();
        Demo.Outcome o;
        try (Listener l = new Listener(out, err, bars)) {
            o = Demo.run(cfg, inProcess ? MethodRunner.inProcess() : MethodRunner.forked(), l);
        }
        out.println();
        out.println("results: " + o.results().toAbsolutePath().normalize() + " (and results.json, results.png; one file per method in "
                + o.results().toAbsolutePath().getParent().resolve("rows").normalize() + ")");
        out.flush();
        if (!o.failed().isEmpty()) {
            throw new PeftException(o.failed().size() + " of " + chosen.size() + " methods failed (" + String.join("; ", o.failed())
                    + "); rerun to run them again (the others are kept)");
        }
    }

    private DemoTask task() {
        boolean taskGiven = spec.commandLine().getParseResult().hasMatchedOption("--task");
        if (data == null) {
            if (dev != null) throw new PeftException("--dev needs --data (your own training data)");
            if (textField != null || labelField != null) throw new PeftException("--text-field and --label-field go with --data (a built-in task brings its own)");
            DemoTask b = DemoTask.builtin(task);
            if (prompt.template == null && prompt.verbalizer == null) return b;
            return new DemoTask(b.name(), b.train(), b.dev(), b.textFields(), b.labelField(), templateText(), verbalizerText());
        }
        if (taskGiven) throw new PeftException("--task and --data: give one (a built-in task, or your own data with --dev)");
        if (dev == null) throw new PeftException("--data needs --dev (the examples every method is scored on)");
        List<String> fields = null;
        if (textField != null) {
            fields = Arrays.stream(textField.split(",", -1)).map(String::trim).toList();
            if (fields.size() > 2 || fields.stream().anyMatch(String::isEmpty)) {
                throw new PeftException("--text-field: one field, or two comma-separated fields for a text pair, not '" + textField + "'");
            }
        }
        return DemoTask.files(data, dev, fields, labelField, templateText(), verbalizerText());
    }

    /** The template as given (text or a template.json file), checked by parsing; null when not given. */
    private String templateText() {
        if (prompt.template == null && prompt.verbalizer != null) throw new PeftException("--verbalizer needs --template");
        prompt.template();
        return prompt.template;
    }

    /** The label words as given (text or a verbalizer.json file), checked by parsing; null when not given. */
    private String verbalizerText() {
        if (prompt.verbalizer == null && prompt.template != null) throw new PeftException("--template needs --verbalizer (the label words)");
        prompt.verbalizer();
        return prompt.verbalizer;
    }

    static String line(List<String> cells) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            b.append(i == 0 ? String.format(Locale.ROOT, "%-" + WIDTHS[i] + "s", c) : String.format(Locale.ROOT, " %" + WIDTHS[i] + "s", c));
        }
        return b.toString().stripTrailing();
    }

    /** Prints the settings, "method i of n", a bar per stage, and a table row per method. */
    static final class Listener implements Demo.Listener, AutoCloseable {
        private final PrintWriter out, err;
        private final boolean bars;
        private Progress bar;
        private String stage;
        private Plan plan;

        Listener(PrintWriter out, PrintWriter err, boolean bars) {
            this.out = out;
            this.err = err;
            this.bars = bars;
        }

        @Override
        public void settings(Plan plan, String description) {
            this.plan = plan;
            out.println("peft demo: " + plan.task().name() + " with " + plan.model());
            out.println(description + ".");
            out.println();
            out.println(line(Reports.COLUMNS));
            out.println("-".repeat(line(Reports.COLUMNS).length()));
            out.flush();
        }

        @Override
        public void started(int index, int count, DemoMethod method) {
            err.println(String.format(Locale.ROOT, "method %d of %d: %s (trains %s)", index, count, method.title(), method.trains(plan.settings())));
            err.flush();
        }

        @Override
        public void progress(DemoMethod method, String st, long done, long total) {
            if (!bars) return;
            if (!st.equals(stage)) {
                close();
                stage = st;
                bar = Progress.start(method.name() + ": " + st, total, true);
            }
            bar.update(done, total);
        }

        @Override
        public void finished(int index, int count, Row row, boolean reused) {
            close();
            out.println(line(Reports.cells(row)) + (reused ? "   (from an earlier run)" : ""));
            out.flush();
        }

        @Override
        public void failed(int index, int count, DemoMethod method, String message) {
            close();
            err.println("peft demo: method " + index + " of " + count + " (" + method.name() + ") failed: " + message);
            err.flush();
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
            bar = null;
            stage = null;
        }
    }
}
