package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Metric;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Trains a PEFT method (or full fine-tuning) with a sequence-classification head on JSON-lines, CSV or TSV data or a built-in dataset.")
final class TrainCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Mixin
    DataOptions data;
    @Mixin
    MethodOptions method;
    @Option(names = "--output", description = "Where to save the adapter and head; with --method full, the whole model as a model directory (replaced atomically).")
    Path output;
    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training data (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many optimizer steps (0: after --epochs).")
    long maxSteps;
    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--accumulation", defaultValue = "1", description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int accumulation;
    @Option(names = "--lr", description = "Peak learning rate (default 5e-4; full fine-tuning 3e-5).")
    Double lr;
    @Option(names = "--warmup", defaultValue = "0", description = "Warm-up steps.")
    int warmup;
    @Option(names = "--schedule", defaultValue = "linear", description = "linear, cosine or constant.")
    String schedule;
    @Option(names = "--max-length", defaultValue = "128", description = "Tokens kept per example (default: ${DEFAULT-VALUE}).")
    int maxLength;
    @Option(names = "--truncation", defaultValue = "end",
            description = "Which end of a longer text loses tokens: end (keep its beginning) or start (keep its end); a pair loses tokens from its longer text (default: ${DEFAULT-VALUE}).")
    String truncation;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of initialisation, shuffling and dropout (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps (0: each epoch).")
    int evalEvery;
    @Option(names = "--patience", defaultValue = "0", description = "Early stopping after N evaluations without improvement.")
    int patience;
    @Option(names = "--checkpoint-dir", description = "Checkpoints (last/, best/); with --resume training continues from last/.")
    Path checkpointDir;
    @Option(names = "--resume", description = "Continue from --checkpoint-dir's last/ checkpoint.")
    boolean resume;
    @Option(names = "--progress", negatable = true, description = "Progress bar on stderr (default: when stderr is a terminal).")
    Boolean progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // the options alone decide these: before loading anything
        if (epochs <= 0 && maxSteps <= 0) throw new PeftException("--epochs " + epochs + " and --max-steps " + maxSteps + ": one of them must be positive");
        if (batchSize <= 0) throw new PeftException("--batch-size must be positive, not " + batchSize);
        if (accumulation <= 0) throw new PeftException("--accumulation must be positive, not " + accumulation);
        if (maxLength <= 0) throw new PeftException("--max-length must be positive, not " + maxLength);
        if (resume && checkpointDir == null) throw new PeftException("--resume needs --checkpoint-dir (where the last/ checkpoint is)");
        Truncation trunc = Truncation.parse(truncation);
        if (trunc == null) throw new PeftException("--truncation: '" + truncation + "' is not end or start");
        // the data before the model: bad data fails fast
        DataSpec dataSpec = data.spec();
        List<TextRecord> trainRecords = data.train(dataSpec), devRecords = data.dev(dataSpec);
        List<String> trainLabels = Labels.of(trainRecords);
        TreeSet<String> labelSet = new TreeSet<>(trainLabels);
        labelSet.addAll(Labels.of(devRecords));
        if (labelSet.size() > trainLabels.size()) {
            TreeSet<String> devOnly = new TreeSet<>(labelSet);
            devOnly.removeAll(trainLabels);
            spec.commandLine().getErr().println("peft train: warning: " + data.dev + ": labels " + devOnly + " do not occur in " + data.data
                    + "; the head gets a class for each, which training never sees");
        }
        List<String> labels = new ArrayList<>(labelSet);
        if (labels.size() < 2) throw PeftException.inFile(data.data, "field '" + dataSpec.labelField() + "' has fewer than two distinct values");
        Path dir = ModelHub.resolve(model);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        TextEncoder encoder = new TextEncoder(Tokenizers.load(dir), dataSpec.textFields(), maxLength, trunc);
        List<Example.Classification> train = encoder.classification(trainRecords, labels), devSet = encoder.classification(devRecords, labels);
        boolean gpt2 = base.config().modelType().equals("gpt2");
        PeftModel peft = PeftModel.of(base, model);
        PeftConfig pc = method.config(base.config().hidden());
        if (pc == null) peft.unfreezeBase();
        else peft.add(PeftModel.DEFAULT, pc, seed);
        peft.setHead(ClassificationHead.classification(gpt2 ? Pooling.LAST : Pooling.CLS, labels, base.config().hidden(), DataType.FLOAT, seed));
        Schedule sched;
        try {
            sched = Schedule.valueOf(schedule.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new PeftException("--schedule: '" + schedule + "' is not linear, cosine or constant");
        }
        TrainingConfig cfg;
        try {
            cfg = TrainingConfig.defaults().withLearningRate(lr != null ? lr : pc == null ? 3e-5 : 5e-4).withWarmup(warmup, sched)
                    .withBatchSize(batchSize, accumulation).withEpochs(epochs).withMaxSteps(maxSteps).withSeed(seed)
                    .withEvaluation(evalEvery, patience).withCheckpoints(checkpointDir, 0, resume);
        } catch (IllegalArgumentException e) {
            throw new PeftException(e.getMessage());
        }
        var err = spec.commandLine().getErr();
        err.println(peft.parameterCount());
        err.flush();
        Trainer<Example.Classification> trainer = new Trainer<>(peft, Objectives.classification(0), cfg);
        boolean bar = progress != null ? progress : System.console() != null;
        ProgressBar pb = bar ? new ProgressBarBuilder().setTaskName("train").setInitialMax(1).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).showSpeed().build() : null;
        trainer.addListener(new TrainingListener() {
            @Override
            public void onStep(Progress p) {
                if (pb == null) return;
                pb.maxHint(p.totalSteps());
                pb.stepTo(p.step());
                pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e", p.loss(), p.learningRate()));
            }

            @Override
            public void onEvaluation(long step, double metric, boolean best) {
                err.printf(Locale.ROOT, "%nstep %d: dev accuracy %.4f%s%n", step, metric, best ? " (best)" : "");
                err.flush();
            }
        });
        long t0 = System.nanoTime();
        TrainingResult r;
        try {
            r = trainer.fit(train, devSet.isEmpty() ? null : devSet, Metric.accuracy(Math.max(batchSize, 16)));
        } finally {
            if (pb != null) pb.close();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (output != null) save(peft, pc == null, dir);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("method", method.method);
        o.put("trainable_params", peft.parameterCount().trainable());
        o.put("all_params", peft.parameterCount().all());
        o.put("steps", r.steps());
        o.put("final_loss", r.lastLoss());
        o.put("dev_accuracy", Double.isNaN(r.bestMetric()) ? null : r.bestMetric());
        o.put("stopped", r.reason().name().toLowerCase(Locale.ROOT));
        o.put("seconds", Math.round(seconds * 10) / 10.0);
        var out = spec.commandLine().getOut();
        out.println(Common.json(o));
        out.flush();
    }

    /**
     * The adapter and head; after full fine-tuning, the whole model as a Hugging Face checkpoint with the
     * base's tokenizer files and the head beside it: a model directory {@code --model} accepts.
     */
    private void save(PeftModel peft, boolean full, Path modelDir) {
        if (!full) {
            peft.save(output);
            return;
        }
        io.peft4j.core.io.AtomicFiles.writeDirectory(output, tmp -> {
            peft.writeFiles(tmp);
            Tokenizers.copyFiles(modelDir, tmp);
        });
    }
}
