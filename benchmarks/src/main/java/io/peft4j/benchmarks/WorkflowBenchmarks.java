package io.peft4j.benchmarks;

import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Rendered;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The workflows' own costs on BERT-base, each against a plain forward of the same inputs timed in the same run
 * (alternating, medians): zero-shot scoring (template rendering, the LM head at the mask, the verbalizer) and probe
 * feature extraction (every layer's states pooled) with its cache. Writes {@code docs/benchmarks-workflows.md} with
 * the CPU model and the same run's sgemm. Usage: {@code WorkflowBenchmarks OUTPUT.md [ROUNDS]}.
 */
public final class WorkflowBenchmarks {
    private WorkflowBenchmarks() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/benchmarks-workflows.md");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path dir = ModelHub.resolve("bert-base-uncased");
        TransformerModel bert = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        StringBuilder md = new StringBuilder("# Workflow benchmarks\n\n");
        md.append(BenchmarkPage.generatedBy("docs/generate-workflow-benchmarks.sh")).append("Each workflow is timed against a plain forward of "
                + "the same inputs in the same run, the two alternating; medians. Compare ratios, not absolute times, across machines.\n\n");
        md.append(zeroShot(bert, tok, "spam", "Subject: {text}. {text_b} This e-mail is {mask}.", "spam=spam,junk;ham=personal,normal", 128, 64, 16, rounds));
        md.append(zeroShot(bert, tok, "opinion-words", "{text}. It was {mask}.", "positive=great;negative=terrible", 32, 256, 32, rounds));
        md.append(ProbeBenchmark.run(bert, 256, 128, 16, Math.max(2, rounds / 2)));
        AtomicFiles.write(out, md.toString().getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
    }

    /** Zero-shot class scores of {@code n} dev records against a plain forward of the same rendered ids. */
    static String zeroShot(TransformerModel bert, Tokenizer tok, String task, String template, String verbalizer, int maxLength, int n, int batch,
                           int rounds) {
        List<TextRecord> dev = Datasets.load(task, Split.DEV).subList(0, n);
        Verbalizer v = Verbalizer.parse(verbalizer);
        var setup = new ClassifierTraining.Setup("bert-base-uncased", new ClassifierTraining.Method.None(), Template.parse(template), v,
                Datasets.defaultSpec(task), maxLength, Truncation.END, TrainingConfig.defaults());
        PeftModel model = PeftModel.of(bert, "bert-base-uncased");
        PromptClassifier clf = (PromptClassifier) ClassifierTraining.build(model, tok, setup, v.labels(), 0);
        List<Map<String, String>> records = dev.stream().map(TextRecord::fields).toList();
        List<Batch> batches = new ArrayList<>();
        long tokens = 0;
        for (int s = 0; s < n; s += batch) {
            List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
            for (Map<String, String> r : records.subList(s, Math.min(n, s + batch))) {
                Rendered x = clf.render(r);
                ids.add(x.ids());
                types.add(x.tokenTypes());
                tokens += x.length();
            }
            batches.add(Objectives.collate(ids, types));
        }
        clf.classScores(records.subList(0, batch), batch);                  // warm-up
        List<Double> plain = new ArrayList<>(), scored = new ArrayList<>();
        for (int k = 0; k < rounds; k++) {
            long t0 = System.nanoTime();
            for (Batch b : batches) {
                Workspaces.run(() -> {
                    model.forward(b, ForwardContext.inference(b.size()));
                    return new INDArray[0];
                });
            }
            plain.add((System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            clf.classScores(records, batch);
            scored.add((System.nanoTime() - t0) / 1e9);
        }
        double p = ProbeBenchmark.median(plain), z = ProbeBenchmark.median(scored);
        return String.format(Locale.ROOT, "## Zero-shot scoring: %s (%d dev records, template `%s`, %.1f tokens each on average, batch %d)%n%n"
                        + "| what | median | examples/s |%n|---|---:|---:|%n"
                        + "| plain forward of the rendered ids (%s s) | %.2f s | %.1f |%n"
                        + "| zero-shot class scores: rendering, forward, LM head at the mask, verbalizer (%s s) | %.2f s | %.1f |%n"
                        + "| zero-shot / plain forward | %.3f | |%n%n",
                task, n, template.replace("|", "\\|"), (double) tokens / n, batch, ProbeBenchmark.fmt(plain), p, n / p, ProbeBenchmark.fmt(scored), z, n / z, z / p);
    }
}
