package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.prompt.task.ClassifierDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluates a trained classifier (a 'peft train --output' directory) on labelled data: accuracy, macro-F1, "
                + "per-class precision/recall/F1 and the confusion matrix.",
                "With --format alpaca|chat|completion, or an adapter directory holding sft.json ('peft train --format'): evaluates a decoder by generation "
                        + "on instruction data (exact match, normalised accuracy, ROUGE-L, per task and overall) and by the loss and perplexity "
                        + "of the reference responses. Without --adapter, the base model alone."})
final class EvalCommand implements Runnable {
    @Option(names = "--model", description = "The base model (default: the one the classifier or adapter was trained on).")
    String model;
    @Option(names = "--adapter", paramLabel = "DIR", description = "The trained classifier's or adapter's directory (required for a classifier).")
    Path adapter;
    @Option(names = "--data", required = true, paramLabel = "FILE|NAME",
            description = "Labelled data, read as the classifier was trained (its text and label fields, label map): a file, or a built-in dataset "
                    + "(its train split; NAME:dev for the dev split).")
    String data;
    @Option(names = "--limit", description = "Evaluate at most this many examples.")
    Integer limit;
    @Option(names = "--batch-size", defaultValue = "32", description = "Inputs per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--json", description = "Print {\"accuracy\", \"macro_f1\", \"n\", \"per_class\": {...}, \"labels\", \"confusion\"}; with --format, "
            + "{\"n\", \"exact_match\", \"accuracy\", \"rouge_l\", \"response_loss\", \"perplexity\", \"per_task\": {...}, \"task_mean\": {...}, ...}.")
    boolean json;
    @Option(names = "--format", paramLabel = "alpaca|chat|completion",
            description = "Evaluate a decoder by generation on this JSON-lines instruction format (default: the sft.json of --adapter, if it has one).")
    String format;
    @Option(names = "--chat-template", paramLabel = "NAME", description = "With --format: the chat format (default: the one the adapter was trained with; "
            + "else the model's own; else raw for completion data and instruction otherwise).")
    String chatTemplate;
    @Option(names = "--max-new-tokens", defaultValue = "32", description = "With --format: the most tokens per answer (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "With --format: 0 for greedy answers, else sampled at this temperature (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--seed", defaultValue = "0", description = "With --format: the seed of sampled answers; example i uses seed + i (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--stop", paramLabel = "S", description = "With --format: an answer ends before this string (repeatable); it always ends at the end-of-sequence token.")
    java.util.List<String> stop;
    @Option(names = "--max-length", description = "With --format: tokens per example for the response loss (default: the adapter's, else the model's positions up to 512).")
    Integer maxLength;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (batchSize <= 0) throw new PeftException("--batch-size must be positive, not " + batchSize);
        if (limit != null && limit <= 0) throw new PeftException("--limit must be positive, not " + limit);
        if (format != null || adapter != null && java.nio.file.Files.isRegularFile(adapter.resolve(Sft.FILE))) {
            SftEval.run(this);
            return;
        }
        if (adapter == null) {
            throw new PeftException("--adapter is required: a classifier directory ('peft train --output'); or give --format to evaluate a decoder by generation");
        }
        ClassifierDirectory.Loaded c = ClassifierDirectory.load(adapter, model);
        DataSpec spec0 = c.task().data();
        List<TextRecord> records = Datasets.load(data, Split.TRAIN, limit == null ? spec0 : spec0.withLimit(limit));
        long t0 = System.nanoTime();
        ClassificationReport report;
        try (Progress bar = Progress.start("eval", records.size(), progress.on())) {
            report = Predictions.evaluate(c.classifier(), records, batchSize, bar);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(Common.json(report.toJson()));
        } else {
            out.printf(Locale.ROOT, "%s on %s: %d examples in %.1f s%n%n", adapter, data, records.size(), seconds);
            out.print(report.toTable());
        }
        out.flush();
    }
}
