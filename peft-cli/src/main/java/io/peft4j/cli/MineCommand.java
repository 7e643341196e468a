package io.peft4j.cli;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.mining.TemplateCandidates;
import io.peft4j.prompt.mining.TemplateSearch;
import io.peft4j.prompt.mining.VerbalizerSearch;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

@Command(name = "mine", mixinStandardHelpOptions = true,
        description = "Searches prompts on (few-shot) training data. With --template: the best label words per label from the whole vocabulary "
                + "(PETAL / LM-BFF: how much likelier a word is at the mask for that label than for the others). Otherwise: candidate templates "
                + "(a built-in set and --templates FILE) scored on --dev, zero-shot or after --train-epochs of LoRA, with --verbalizer or "
                + "label words mined for each.")
final class MineCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Mixin
    DataOptions data;
    @Option(names = "--dev", paramLabel = "FILE|NAME", description = "Dev data the templates are ranked on (template search): a file, or a built-in's dev split.")
    String dev;
    @Mixin
    PromptOptions prompt;
    @Option(names = "--templates", paramLabel = "FILE", description = "More candidate templates, one per line ('#' comments), after the built-in ones.")
    Path templates;
    @Option(names = "--no-builtin-templates", description = "Search only the templates of --templates.")
    boolean noBuiltin;
    @Option(names = "--shots", paramLabel = "K", description = "Search on K examples per label of --data, drawn with --seed (default: all of --data).")
    Integer shots;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of the k-shot sample and of training (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--words", defaultValue = "3", description = "Label words chosen per label (default: ${DEFAULT-VALUE}).")
    int words;
    @Option(names = "--train-epochs", defaultValue = "0",
            description = "Score each template after this many epochs of LoRA (r 8) on the training data; 0 scores it zero-shot (default: ${DEFAULT-VALUE}).")
    int trainEpochs;
    @Option(names = "--lr", defaultValue = "1e-3", description = "Learning rate of that training (default: ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--json", description = "Print the search's result as JSON.")
    boolean json;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (words <= 0) throw new PeftException("--words must be positive, not " + words);
        if (shots != null && shots <= 0) throw new PeftException("--shots must be positive, not " + shots);
        if (trainEpochs < 0) throw new PeftException("--train-epochs must not be negative, not " + trainEpochs);
        Template template = prompt.template();
        Verbalizer verbalizer = prompt.verbalizer();
        boolean labelWords = template != null;
        if (labelWords && (templates != null || verbalizer != null)) {
            throw new PeftException("--template searches label words for that template; --templates and --verbalizer belong to the template search");
        }
        if (!labelWords && dev == null) throw new PeftException("the template search ranks templates on --dev: give it (or --template to search label words)");
        DataSpec dataSpec = data.spec();
        List<TextRecord> train = data.records(dataSpec);
        if (shots != null) train = Sampling.kShot(train, shots, seed);
        List<TextRecord> devRecords = DataOptions.dev(dev, dataSpec);
        List<TemplateCandidates.Candidate> candidates = labelWords ? List.of() : candidates(dataSpec);
        Path dir = ModelHub.resolve(model);
        PeftModel pm = PeftModel.of(Models.load(dir, DataType.FLOAT), model);
        Tokenizer tok = Tokenizers.load(dir);
        VerbalizerSearch.Options options = VerbalizerSearch.Options.defaults().withWordsPerClass(words);
        var out = spec.commandLine().getOut();
        if (labelWords) {
            VerbalizerSearch.Result r = VerbalizerSearch.search(pm, tok, ClassifierTraining.forData(template, dataSpec.textFields()), train, options);
            out.println(json ? Common.json(r.toJson()) : r.toMarkdown());
        } else {
            TemplateSearch.Builder b = TemplateSearch.builder(pm, tok).seed(seed);
            if (verbalizer != null) b.verbalizer(verbalizer);
            else b.mineVerbalizer(options);
            b.field("text", dataSpec.textFields().get(0));
            if (dataSpec.pairs()) b.field("text_b", dataSpec.textFields().get(1));
            if (trainEpochs > 0) {
                b.fewShot(LoraConfig.defaults().withR(8).withAlpha(16),
                        TrainingConfig.defaults().withLearningRate(lr).withBatchSize(8, 1).withEpochs(trainEpochs).withSeed(seed));
            }
            TemplateSearch.Result r;
            try (Progress bar = Progress.start("templates", candidates.size(), progress.on())) {
                b.listener((index, total, scored) -> bar.step(1));
                r = b.build().run(candidates, train, devRecords);
            }
            out.println(json ? Common.json(r.toJson()) : r.toMarkdown());
        }
        out.flush();
    }

    private List<TemplateCandidates.Candidate> candidates(DataSpec spec) {
        List<TemplateCandidates.Candidate> own = templates == null ? List.of() : TemplateCandidates.read(templates);
        if (noBuiltin) {
            if (own.isEmpty()) throw new PeftException("--no-builtin-templates needs --templates FILE");
            return own;
        }
        List<TemplateCandidates.Candidate> all = new ArrayList<>(TemplateCandidates.concat(TemplateCandidates.builtin(spec.pairs()), own));
        return all;
    }
}
