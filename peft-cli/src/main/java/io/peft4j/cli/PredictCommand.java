package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.TextRecord;
import io.peft4j.prompt.task.ClassifierDirectory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classifies new texts with a trained classifier: JSON lines in (objects with the classifier's text fields), one line out per "
                + "input, as it arrives: its label and class probabilities.")
final class PredictCommand implements Runnable {
    @Option(names = "--model", description = "The base model (default: the one the classifier was trained on).")
    String model;
    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "The trained classifier's directory ('peft train --output').")
    Path adapter;
    @Option(names = "--input", defaultValue = "-", paramLabel = "FILE|-", description = "JSON lines to classify; - is standard input (default: ${DEFAULT-VALUE}).")
    String input;
    @Option(names = "--batch-size", defaultValue = "16", description = "The most inputs classified together; fewer when no more input is waiting (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--json", description = "Print {\"label\": ..., \"probabilities\": {label: p, ...}} per input (with its \"id\" when it has one); "
            + "else the label and its probability, tab-separated.")
    boolean json;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (batchSize <= 0) throw new PeftException("--batch-size must be positive, not " + batchSize);
        boolean stdin = input.equals("-");
        if (!stdin && !Files.isRegularFile(Path.of(input))) throw PeftException.inFile(input, "no such file");
        ClassifierDirectory.Loaded c = ClassifierDirectory.load(adapter, model);
        DataSpec unlabelled = c.task().data().withoutLabels();
        String source = stdin ? "<stdin>" : input;
        var out = spec.commandLine().getOut();
        try (BufferedReader in = reader(stdin)) {
            List<TextRecord> batch = new ArrayList<>();
            String line;
            long n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (!line.isBlank()) {
                    try {
                        batch.add(Datasets.parseJsonLine(line, unlabelled, source, n));
                    } catch (PeftException e) {
                        if (!batch.isEmpty()) write(c, batch, out);        // the lines before a bad one are answered
                        throw e;
                    }
                }
                // classify what has arrived once the batch is full or no more input is waiting: streaming, not buffering
                if (batch.size() >= batchSize || (!batch.isEmpty() && !in.ready())) {
                    write(c, batch, out);
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) write(c, batch, out);
        } catch (IOException e) {
            throw PeftException.inFile(source, "cannot read: " + e.getMessage());
        }
    }

    private BufferedReader reader(boolean stdin) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return new BufferedReader(new InputStreamReader(stdin ? System.in : Files.newInputStream(Path.of(input)), decoder));
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(input, "no such file");
        }
    }

    private void write(ClassifierDirectory.Loaded c, List<TextRecord> batch, java.io.PrintWriter out) {
        List<Map<String, String>> fields = batch.stream().map(TextRecord::fields).toList();
        List<Map<String, Double>> probs = ClassifierDirectory.probabilities(c.classifier(), fields, batchSize);
        for (int i = 0; i < batch.size(); i++) {
            Map<String, Double> p = probs.get(i);
            String label = p.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                String id = batch.get(i).fields().get("id");
                if (id != null) o.put("id", id);
                o.put("label", label);
                o.put("probabilities", p);
                out.println(Common.json(o));
            } else {
                out.printf(Locale.ROOT, "%s\t%.4f%n", label, p.get(label));
            }
        }
        out.flush();
    }
}
