package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Calibration;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
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

@Command(name = "zero-shot", mixinStandardHelpOptions = true,
        description = "Classifies labelled data with a template and a verbalizer and no training at all, and reports how well it did "
                + "(accuracy, macro-F1, per class, confusion), beside the majority-class baseline.")
final class ZeroShotCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or known name (bert-base-uncased).")
    String model;
    @Mixin
    DataOptions data;
    @Mixin
    PromptOptions prompt;
    @Option(names = "--calibrate", defaultValue = "none", paramLabel = "none|content-free|unlabelled",
            description = "content-free: divide by the probabilities of 'N/A' in place of the input (Zhao et al. 2021); unlabelled: by the mean "
                    + "over the data's own inputs, without their labels (OpenPrompt) (default: ${DEFAULT-VALUE}).")
    String calibrate;
    @Option(names = "--max-length", description = "Tokens per rendered input (default: the model's maximum).")
    Integer maxLength;
    @Option(names = "--truncation", defaultValue = "end", description = "Which end of a long input field loses tokens: end or start (default: ${DEFAULT-VALUE}).")
    String truncation;
    @Option(names = "--batch-size", defaultValue = "32", description = "Inputs per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--json", description = "Print one JSON object: the report, the calibration, the uncalibrated and majority scores.")
    boolean json;
    @Mixin
    Progress.Switch progress;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Template template = prompt.template();
        Verbalizer verbalizer = prompt.verbalizer();
        if (template == null || verbalizer == null) throw new PeftException("zero-shot needs --template and --verbalizer");
        if (!List.of("none", "content-free", "unlabelled").contains(calibrate)) {
            throw new PeftException("--calibrate: '" + calibrate + "' is not none, content-free or unlabelled");
        }
        if (batchSize <= 0) throw new PeftException("--batch-size must be positive, not " + batchSize);
        Truncation trunc = Truncation.parse(truncation);
        if (trunc == null) throw new PeftException("--truncation: '" + truncation + "' is not end or start");
        DataSpec dataSpec = data.spec();
        List<TextRecord> records = data.records(dataSpec);
        verbalizer.checkLabels(Labels.of(records), data.data);
        Path dir = ModelHub.resolve(model);
        var base = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        int max = maxLength != null ? maxLength : base.config().maxPositions();
        var setup = new ClassifierTraining.Setup(model, new ClassifierTraining.Method.None(), template, verbalizer, dataSpec, max, trunc,
                TrainingConfig.defaults());
        PromptClassifier clf = (PromptClassifier) ClassifierTraining.build(PeftModel.of(base, model), tok, setup, verbalizer.labels(), 0);
        clf.template().requireFields(records.get(0).fields().keySet(), data.data);
        long t0 = System.nanoTime();
        double[][] scores = new double[records.size()][];
        INDArray vocabSum = null;
        try (Progress bar = Progress.start("zero-shot", records.size(), progress.on())) {
            for (int s = 0; s < records.size(); s += batchSize) {
                List<Map<String, String>> part = new ArrayList<>();
                for (TextRecord r : records.subList(s, Math.min(records.size(), s + batchSize))) part.add(r.fields());
                // one pass gives both: each input's vocabulary row at the mask, whose label words are its class scores,
                // and the rows' sum for the unlabelled calibration
                INDArray rows = clf.vocabularyLogProbs(part, batchSize);
                double[][] c = clf.labelWords().scores(Tensor.constant(rows)).value().toDoubleMatrix();
                System.arraycopy(c, 0, scores, s, c.length);
                if (calibrate.equals("unlabelled")) vocabSum = vocabSum == null ? rows.sum(0) : vocabSum.addi(rows.sum(0));
                bar.step(part.size());
            }
        }
        Calibration cal = switch (calibrate) {
            case "content-free" -> clf.contentFreeCalibration();
            case "unlabelled" -> Calibration.meanOf(vocabSum.divi(records.size()), clf.labelWords());
            default -> Calibration.none();
        };
        double seconds = (System.nanoTime() - t0) / 1e9;
        int[] gold = TextClassifier.goldIndices(records, clf.labels());
        ClassificationReport raw = ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(scores));
        ClassificationReport calibrated = ClassificationReport.of(clf.labels(), gold, TextClassifier.argmax(cal.apply(scores)));
        ClassificationReport majority = majority(clf.labels(), gold);
        var out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>(calibrated.toJson());
            o.put("calibration", calibrate);
            o.put("uncalibrated", Map.of("accuracy", raw.accuracy(), "macro_f1", raw.macroF1()));
            o.put("majority_baseline", Map.of("label", majority.labels().get(argmaxSupport(majority)), "accuracy", majority.accuracy(), "macro_f1", majority.macroF1()));
            o.put("template", template.text());
            o.put("verbalizer", verbalizer.toString());
            o.put("seconds", Math.round(seconds * 10) / 10.0);
            out.println(Common.json(o));
        } else {
            out.printf(Locale.ROOT, "zero-shot, template '%s', %s, calibration %s, %d inputs in %.1f s%n%n", template.text(), verbalizer, calibrate,
                    records.size(), seconds);
            out.print(calibrated.toTable());
            if (!calibrate.equals("none")) out.printf(Locale.ROOT, "%nuncalibrated: accuracy %.4f, macro-F1 %.4f%n", raw.accuracy(), raw.macroF1());
            out.printf(Locale.ROOT, "majority class ('%s'): accuracy %.4f, macro-F1 %.4f%n", majority.labels().get(argmaxSupport(majority)),
                    majority.accuracy(), majority.macroF1());
        }
        out.flush();
    }

    /** The report of always answering the most frequent gold label. */
    static ClassificationReport majority(List<String> labels, int[] gold) {
        int[] count = new int[labels.size()];
        for (int g : gold) count[g]++;
        int best = 0;
        for (int c = 1; c < count.length; c++) if (count[c] > count[best]) best = c;
        int[] pred = new int[gold.length];
        java.util.Arrays.fill(pred, best);
        return ClassificationReport.of(labels, gold, pred);
    }

    private static int argmaxSupport(ClassificationReport r) {
        int best = 0;
        for (int c = 1; c < r.labels().size(); c++) if (r.support(c) > r.support(best)) best = c;
        return best;
    }
}
