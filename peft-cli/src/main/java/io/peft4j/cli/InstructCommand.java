package io.peft4j.cli;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.Mixture;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.instruct.InstructTask;
import io.peft4j.instruct.Instruction;
import io.peft4j.instruct.InstructionModel;
import io.peft4j.instruct.InstructionSet;
import io.peft4j.instruct.Instructions;
import io.peft4j.instruct.Scheme;
import io.peft4j.instruct.Study;
import io.peft4j.instruct.StudyConfig;
import io.peft4j.instruct.StudyListener;
import io.peft4j.instruct.StudyResult;
import io.peft4j.instruct.hyper.HyperLoraMethod;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

@Command(name = "instruct", mixinStandardHelpOptions = true,
        description = "Multi-task instruction tuning on an encoder, measured leave-one-cluster-out as FLAN measures it: tune on the built-in tasks "
                + "phrased as instructions, each task cluster held out in turn, and score the held-out tasks zero-shot under instructions never "
                + "trained on; beside the frozen model with the same instructions and a supervised adapter on each held-out task. Compares three "
                + "ways of conditioning on an instruction: template (prompt), instruction-encoded prefix (prefix) and hypernetwork-generated LoRA "
                + "(hyper). See docs/instruction-tuning.md.")
final class InstructCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Option(names = "--tasks", paramLabel = "A,B,...", description = "Built-in tasks (default: all six: spam, sotu, opinion-words, afinn-sentiment, name-gender, stopword-language).")
    String tasks;
    @Option(names = "--holdout", defaultValue = "all", paramLabel = "TASK|all",
            description = "Hold out every cluster in turn, or the cluster of one task (default: ${DEFAULT-VALUE}).")
    String holdout;
    @Option(names = "--schemes", defaultValue = "prompt,prefix,hyper", description = "Schemes to compare (default: ${DEFAULT-VALUE}).")
    String schemes;
    @Option(names = "--method", defaultValue = "lora", description = "The template scheme's (and the upper bound's) method: lora, ia3, adapter, prefix, prompt or ptuning (default: ${DEFAULT-VALUE}).")
    String method;
    @Option(names = "--r", defaultValue = "8", description = "LoRA rank, also the hypernetwork's generated rank (default: ${DEFAULT-VALUE}).")
    int r;
    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha, also the hypernetwork's (default: ${DEFAULT-VALUE}).")
    double alpha;
    @Option(names = "--instructions", paramLabel = "DIR", description = "A directory of instruction files (TASK.json) replacing the built-in ones of the tasks they name.")
    Path instructions;
    @Option(names = "--steps", description = "Optimizer steps per training run (default: " + StudyConfig.DEFAULT_STEPS + ").")
    Integer steps;
    @Option(names = "--batch-size", description = "Examples per step (default: " + StudyConfig.DEFAULT_BATCH_SIZE + ").")
    Integer batchSize;
    @Option(names = "--lr", description = "Peak learning rate of the template and hypernetwork schemes and the upper bound (default: " + StudyConfig.DEFAULT_LEARNING_RATE + ").")
    Double lr;
    @Option(names = "--prefix-lr", description = "Peak learning rate of the prefix scheme (default: " + StudyConfig.DEFAULT_PREFIX_LEARNING_RATE + ").")
    Double prefixLr;
    @Option(names = "--max-length", description = "Tokens per rendered example (default: " + StudyConfig.DEFAULT_MAX_LENGTH + ").")
    Integer maxLength;
    @Option(names = "--examples", description = "Training records per task to draw examples from (default: " + StudyConfig.DEFAULT_EXAMPLES_PER_TASK + ").")
    Integer examples;
    @Option(names = "--dev-examples", description = "Dev records per held-out task to score (default: " + StudyConfig.DEFAULT_DEV_EXAMPLES + ").")
    Integer devExamples;
    @Option(names = "--seen-dev-examples", description = "Dev records per task seen in training to score (default: " + StudyConfig.DEFAULT_SEEN_DEV_EXAMPLES + ").")
    Integer seenDevExamples;
    @Option(names = "--train-instructions", description = "Sentence-style phrasings per task to train on; the rest are only tested on (default: " + StudyConfig.DEFAULT_TRAIN_INSTRUCTIONS + ").")
    Integer trainInstructions;
    @Option(names = "--cap", description = "The task mixture's cap on a task's size (default: FLAN's " + Mixture.FLAN_CAP + ").")
    Integer cap;
    @Option(names = "--temperature", description = "The task mixture's temperature (default: 1).")
    Double temperature;
    @Option(names = "--seed", description = "Seed of the samples, draws, initialisation and data order (default: " + StudyConfig.DEFAULT_SEED + ").")
    Long seed;
    @Option(names = "--base", negatable = true, defaultValue = "true", fallbackValue = "true", description = "Score the frozen model with the same instructions (default: on).")
    boolean base;
    @Option(names = "--supervised", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Train the supervised upper bound on each held-out task (default: on).")
    boolean supervised;
    @Option(names = "--export-adapters", paramLabel = "DIR",
            description = "Write the LoRA adapter the hypernetwork generates for each held-out instruction to DIR/TASK/FORM-N/ (the instruction's id; Hugging Face PEFT's layout).")
    Path exportAdapters;

    @Option(names = "--output", paramLabel = "DIR", description = "Write results.json and results.md (atomically) into DIR.")
    Path output;
    @Option(names = "--json", description = "Print the results as one JSON object instead of the tables.")
    boolean json;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        List<String> names = tasks == null ? InstructTask.builtinNames() : list("--tasks", tasks);
        List<Scheme> chosen = new ArrayList<>();
        for (String s : list("--schemes", schemes)) chosen.add(Scheme.parse(s));
        Map<String, InstructionSet> own = instructions == null ? Map.of() : Instructions.readDirectory(instructions);
        for (InstructionSet s : own.values()) {
            if (!names.contains(s.task())) throw PeftException.inFile(s.source(), "instructions for task '" + s.task() + "', which is not one of the tasks " + names);
        }
        List<InstructTask> taskList = InstructTask.builtins(names, own);
        if (!holdout.equals(StudyConfig.ALL) && !names.contains(holdout)) {
            throw new PeftException("--holdout: '" + holdout + "' is not one of the tasks (" + String.join(", ", names) + ") or 'all'");
        }
        if (exportAdapters != null && !chosen.contains(Scheme.HYPER)) {
            throw new PeftException("--export-adapters: the hypernetwork scheme (hyper) is not among --schemes");
        }
        // every option is checked before the model is resolved, P-tuning's width (the model's) last
        StudyConfig cfg = config(chosen, () -> ModelConfig.load(modelDir().resolve("config.json")).hidden());
        if (output != null) AtomicFiles.requireWritableDirectory(output, "--output");     // before hours of work, not after
        if (exportAdapters != null) AtomicFiles.requireWritableDirectory(exportAdapters, "--export-adapters");
        var bert = Models.load(modelDir(), DataType.FLOAT);
        var tok = Tokenizers.load(modelDir());
        StudyResult result;
        try (Listener l = new Listener(progress.on(), spec.commandLine().getErr(), exportAdapters, model)) {
            result = Study.run(bert, tok, model, taskList, cfg, l);
        }
        var out = spec.commandLine().getOut();
        out.print(json ? Common.json(result.toJson()) + "\n" : result.toMarkdown());
        out.flush();
        if (output != null) result.write(output);
    }

    private Path resolved;

    /** The model's directory ({@code --model} resolved once). */
    private Path modelDir() {
        if (resolved == null) resolved = ModelHub.resolve(model);
        return resolved;
    }

    /** The study's settings from the options, each checked; {@code hidden} (the model's width) is read only for P-tuning, last. */
    private StudyConfig config(List<Scheme> chosen, IntSupplier hidden) {
        if (r < 1) throw new PeftException("--r must be positive, not " + r);
        if (!(alpha > 0)) throw new PeftException("--alpha must be positive, not " + alpha);
        if (!METHODS.contains(method)) throw new PeftException("--method: '" + method + "' is not one of " + String.join(", ", METHODS));
        StudyConfig.Builder b = StudyConfig.builder().schemes(chosen).holdout(holdout).base(base).supervised(supervised);
        b.hyper(StudyConfig.defaults().hyper().withR(r).withAlpha(alpha));
        if (steps != null) b.steps(positive("--steps", steps));
        if (batchSize != null) b.batchSize(positive("--batch-size", batchSize));
        if (lr != null) b.learningRate(positive("--lr", lr));
        if (prefixLr != null) b.prefixLearningRate(positive("--prefix-lr", prefixLr));
        if (maxLength != null) b.maxLength(positive("--max-length", maxLength));
        if (examples != null) b.examplesPerTask(positive("--examples", examples));
        if (devExamples != null) b.devExamples(positive("--dev-examples", devExamples));
        if (seenDevExamples != null) b.seenDevExamples(positive("--seen-dev-examples", seenDevExamples));
        if (trainInstructions != null) b.trainInstructions(positive("--train-instructions", trainInstructions));
        if (cap != null) b.mixingCap(positive("--cap", cap));
        if (temperature != null) b.temperature(positive("--temperature", temperature));
        if (seed != null) b.seed(seed);
        b.method(method(hidden));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new PeftException(e.getMessage());
        }
    }

    private static final List<String> METHODS = List.of("lora", "ia3", "adapter", "prefix", "prompt", "ptuning");

    /** The template scheme's method; P-tuning's encoder is as wide as the model ({@code hidden}). */
    private PeftConfig method(IntSupplier hidden) {
        return switch (method) {
            case "lora" -> LoraConfig.defaults().withR(r).withAlpha(alpha);
            case "ia3" -> new Ia3Config(null, null, null, null);
            case "adapter" -> BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER);
            case "prefix" -> PrefixTuningConfig.of(20);
            case "prompt" -> PromptTuningConfig.random(20);
            case "ptuning" -> PTuningConfig.mlp(20, hidden.getAsInt());
            default -> throw new IllegalStateException(method);     // checked against METHODS
        };
    }

    private static List<String> list(String option, String csv) {
        List<String> l = Arrays.stream(csv.split(",", -1)).map(String::trim).toList();
        if (l.isEmpty() || l.stream().anyMatch(String::isEmpty)) throw new PeftException(option + ": expected comma-separated names, not '" + csv + "'");
        return l;
    }

    private static int positive(String option, int v) {
        if (v < 1) throw new PeftException(option + " must be positive, not " + v);
        return v;
    }

    private static double positive(String option, double v) {
        if (!(v > 0) || Double.isInfinite(v)) throw new PeftException(option + " must be positive, not " + v);
        return v;
    }

    /** A progress bar per training run on stderr, and a line per run. */
    private static final class Listener implements StudyListener, AutoCloseable {
        private final boolean on;
        private final java.io.PrintWriter err;
        private final Path export;
        private final String modelName;
        private Progress bar;

        Listener(boolean on, java.io.PrintWriter err, Path export, String modelName) {
            this.on = on;
            this.err = err;
            this.export = export;
            this.modelName = modelName;
        }

        /** With --export-adapters: the hypernetwork's LoRA for each held-out instruction, as an ordinary adapter directory. */
        @Override
        public void onTrained(String system, String heldOutCluster, InstructionModel model, List<Instruction> heldOut) {
            if (export == null || !(model.adapter() instanceof HyperLoraMethod.HyperLora h)) return;
            close();                                    // the run's bar is done; its line must not be overwritten
            for (Instruction i : heldOut) {
                Path dir = export.resolve(i.id());      // ids are TASK/FORM-N
                try {
                    h.exportLora(model.encoding(i), modelName, dir);
                    err.printf("instruct: wrote hyper's adapter for %s to %s%n", i.id(), dir);
                } catch (PeftException e) {             // one adapter not written does not end hours of study
                    err.printf("instruct: warning: hyper's adapter for %s not written: %s%n", i.id(), e.getMessage());
                }
            }
            err.flush();
        }

        @Override
        public void onRun(String system, String heldOut, int index, int total) {
            close();
            String what = system + (heldOut == null ? "" : ", " + heldOut + " held out");
            err.printf("instruct: run %d of %d: %s%n", index + 1, total, what);
            err.flush();
            if (on) bar = Progress.start(what, 1, true);
        }

        @Override
        public void onStep(TrainingListener.Progress p) {
            if (bar != null) bar.update(p.step(), p.totalSteps());
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
            bar = null;
        }
    }
}
