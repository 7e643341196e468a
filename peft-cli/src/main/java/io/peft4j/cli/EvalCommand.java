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
        description = "Evaluates a trained classifier (a 'peft train --output' directory) on labelled data: accuracy, macro-F1, "
                + "per-class precision/recall/F1 and the confusion matrix.")
final class EvalCommand implements Runnable {
    @Option(names = "--model", description = "The base model (default: the one the classifier was trained on).")
    String model;
    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "The trained classifier's directory.")
    Path adapter;
    @Option(names = "--data", required = true, paramLabel = "FILE|NAME",
            description = "Labelled data, read as the classifier was trained (its text and label fields, label map): a file, or a built-in dataset "
                    + "(its train split; NAME:dev for the dev split).")
    String data;
    @Option(names = "--limit", description = "Evaluate at most this many examples.")
    Integer limit;
    @Option(names = "--batch-size", defaultValue = "32", description = "Inputs per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--json", description = "Print {\"accuracy\", \"macro_f1\", \"n\", \"per_class\": {...}, \"labels\", \"confusion\"}.")
    boolean json;
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
