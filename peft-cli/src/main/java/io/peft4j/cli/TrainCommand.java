package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains a PEFT method (or full fine-tuning) with a sequence-classification head on JSON-lines, CSV or TSV data or a built-in dataset.",
                "With --format alpaca|chat|completion: instruction tuning of a decoder (causal LM) on a JSON-lines file of instructions, "
                        + "the loss on the responses; see docs/instruction-tuning.md."})
final class TrainCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Mixin
    DataOptions data;
    @Option(names = "--dev", paramLabel = "FILE|NAME", description = "Dev data for accuracy and early stopping: a file, or a built-in dataset's dev split.")
    String dev;
    @Mixin
    MethodOptions method;
    @Option(names = "--output", description = "Where to save the trained classifier: adapter, head or template + verbalizer, labels, settings and "
            + "metrics.json (with --method full, the whole model as a model directory); replaced atomically. 'peft eval' and 'peft predict' read it.")
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
    @Option(names = "--max-length", description = "Tokens kept per example (default: 128; with --format, the model's positions up to 512).")
    Integer maxLength;
    @Option(names = "--truncation",
            description = "Which end of a longer text loses tokens: end (keep its beginning) or start (keep its end); a pair loses tokens from its longer text "
                    + "(default: end). With --format, the length policy: cut-prompt-start (keep the response, cut the prompt's start; the default), "
                    + "cut-end or drop; never an error.")
    String truncation;
    @Option(names = "--format", paramLabel = "alpaca|chat|completion",
            description = "Instruction tuning of a decoder: --data (and --dev) is a JSON-lines file of Alpaca rows (instruction, input, output), "
                    + "chat rows (messages) or prompt/completion rows, each optionally naming its task.")
    String format;
    @Option(names = "--chat-template", paramLabel = "NAME",
            description = "With --format: how conversations become text: a built-in (instruction, plain, raw) or a template the model's tokenizer_config.json "
                    + "names (default: the model's own chat template; without one, raw for completion data and instruction otherwise).")
    String chatTemplate;
    @Option(names = "--loss-on", defaultValue = "responses", paramLabel = "responses|all",
            description = "With --format: the loss on the assistant turns only, or on every token (default: ${DEFAULT-VALUE}).")
    String lossOn;
    @Option(names = "--pack", description = "With --format: pack short examples into rows of --max-length; attention never crosses examples and positions restart per example.")
    boolean pack;
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
    @Option(names = "--shots", paramLabel = "K", description = "Train on K examples per label, a stratified sample of --data drawn with --seed (few-shot).")
    Integer shots;
    @Mixin
    PromptOptions prompt;
    @Mixin
    Progress.Switch progress;
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
        if (maxLength != null && maxLength <= 0) throw new PeftException("--max-length must be positive, not " + maxLength);
        if (resume && checkpointDir == null) throw new PeftException("--resume needs --checkpoint-dir (where the last/ checkpoint is)");
        if (shots != null && shots <= 0) throw new PeftException("--shots must be positive, not " + shots);
        Schedule sched;
        try {
            sched = Schedule.valueOf(schedule.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new PeftException("--schedule: '" + schedule + "' is not linear, cosine or constant");
        }
        if (format != null) {
            SftTraining.run(this, sched);
            return;
        }
        if (chatTemplate != null || pack || !lossOn.equals("responses")) {
            throw new PeftException((chatTemplate != null ? "--chat-template" : pack ? "--pack" : "--loss-on") + " applies to instruction tuning: give --format "
                    + "alpaca|chat|completion");
        }
        Truncation trunc = Truncation.parse(truncation == null ? "end" : truncation);
        if (trunc == null) throw new PeftException("--truncation: '" + truncation + "' is not end or start");
        Template template = prompt.template();
        Verbalizer verbalizer = prompt.verbalizer();
        if (verbalizer != null && template == null) throw new PeftException("--verbalizer needs --template (where the label words are read)");
        // the data before the model: bad data fails fast
        DataSpec dataSpec = data.spec();
        List<TextRecord> trainRecords = data.records(dataSpec), devRecords = DataOptions.dev(dev, dataSpec);
        if (shots != null) trainRecords = Sampling.kShot(trainRecords, shots, seed);
        List<String> trainLabels = Labels.of(trainRecords);
        TreeSet<String> labelSet = new TreeSet<>(trainLabels);
        labelSet.addAll(Labels.of(devRecords));
        if (labelSet.size() > trainLabels.size()) {
            TreeSet<String> devOnly = new TreeSet<>(labelSet);
            devOnly.removeAll(trainLabels);
            spec.commandLine().getErr().println("peft train: warning: " + dev + ": labels " + devOnly + " do not occur in " + data.data
                    + "; the head gets a class for each, which training never sees");
        }
        if (labelSet.size() < 2) throw PeftException.inFile(data.data, "field '" + dataSpec.labelField() + "' has fewer than two distinct values");
        if (verbalizer != null) verbalizer.checkLabels(labelSet, data.data);
        Path dir = ModelHub.resolve(model);
        checkOutput(dir);
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        ClassifierTraining.Method m = method.choice(base.config().hidden());
        TrainingConfig cfg;
        try {
            cfg = TrainingConfig.defaults().withLearningRate(lr != null ? lr : method.full() ? 3e-5 : 5e-4).withWarmup(warmup, sched)
                    .withBatchSize(batchSize, accumulation).withEpochs(epochs).withMaxSteps(maxSteps).withSeed(seed)
                    .withEvaluation(evalEvery, patience).withCheckpoints(checkpointDir, 0, resume);
        } catch (IllegalArgumentException e) {
            throw new PeftException(e.getMessage());
        }
        var setup = new ClassifierTraining.Setup(model, m, template, verbalizer, dataSpec, maxLength == null ? 128 : maxLength, trunc, cfg);
        var err = spec.commandLine().getErr();
        ClassifierTraining.Trained t;
        try (Progress bar = Progress.start("train", 1, progress.on())) {
            TrainingListener evaluations = new TrainingListener() {
                @Override
                public void onEvaluation(long step, double metric, boolean best) {
                    err.printf(Locale.ROOT, "%nstep %d: dev accuracy %.4f%s%n", step, metric, best ? " (best)" : "");
                    err.flush();
                }
            };
            t = ClassifierTraining.train(base, tok, setup, trainRecords, devRecords, bar.training(), evaluations);
        }
        err.println(t.model().parameterCount());
        err.flush();
        if (output != null) t.save(output, dir);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("method", method.method);
        o.put("classifier", template == null ? "head" : verbalizer == null ? "template+head" : "template+verbalizer");
        o.put("trainable_params", t.model().parameterCount().trainable());
        o.put("all_params", t.model().parameterCount().all());
        o.put("examples", trainRecords.size());
        o.put("steps", t.result().steps());
        o.put("final_loss", t.result().lastLoss());
        o.put("dev_accuracy", t.dev() == null ? null : t.dev().accuracy());
        o.put("dev_macro_f1", t.dev() == null ? null : t.dev().macroF1());
        o.put("stopped", t.result().reason().name().toLowerCase(Locale.ROOT));
        o.put("seconds", Math.round(t.seconds() * 10) / 10.0);
        var out = spec.commandLine().getOut();
        out.println(Common.json(o));
        out.flush();
    }

    /** Refuses an --output that is, or holds, what this command reads: saving replaces that directory. */
    void checkOutput(Path modelDir) {
        AtomicFiles.requireOutside(output, "--output", modelDir, "model directory");
        if (data.data != null) AtomicFiles.requireOutside(output, "--output", Path.of(data.data), "training data");
        if (dev != null) AtomicFiles.requireOutside(output, "--output", Path.of(dev), "dev data");
        AtomicFiles.requireOutside(output, "--output", checkpointDir, "checkpoint directory");
    }
}
