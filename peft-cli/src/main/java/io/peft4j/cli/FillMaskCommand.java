package io.peft4j.cli;

import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.infer.FillMask;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

@Command(name = "fill-mask", mixinStandardHelpOptions = true,
        description = "Predict the [MASK] token of each text with a masked-LM (BERT). One line per input.")
final class FillMaskCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory or name (e.g. bert-base-uncased).")
    String model;
    @Option(names = "--top-k", defaultValue = "5", description = "Predictions per input (default ${DEFAULT-VALUE}).")
    int topK;
    @Option(names = "--json", description = "One JSON object per line: {\"text\", \"predictions\": [{\"token\", \"score\"}]}.")
    boolean json;
    /** What fill-mask predicts when no text is given. */
    static final List<String> SENTENCES = List.of(
            "The capital of France is [MASK].",
            "Paris is the [MASK] of France.",
            "The man worked as a [MASK].",
            "I drank a cup of [MASK] this morning.",
            "Java runs on the [MASK] virtual machine.");

    @Parameters(arity = "0..*", paramLabel = "TEXT", description = "Texts containing [MASK] (default: five example sentences).")
    List<String> texts;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        fillMask(model, texts == null || texts.isEmpty() ? SENTENCES : texts, topK, json, spec.commandLine().getOut());
    }

    /** Loads {@code model}, predicts each text's mask and prints one line per text. */
    static void fillMask(String model, List<String> texts, int topK, boolean json, java.io.PrintWriter out) {
        Path dir = ModelHub.resolve(model);
        TransformerModel m = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        print(out, texts, FillMask.predict(m, tok, texts, topK), json);
    }

    static void print(java.io.PrintWriter out, List<String> texts, List<List<FillMask.Prediction>> preds, boolean json) {
        for (int i = 0; i < texts.size(); i++) {
            if (json) {
                List<Map<String, Object>> ps = new ArrayList<>();
                for (FillMask.Prediction p : preds.get(i)) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("token", p.token());
                    e.put("score", Math.round(p.score() * 1e4) / 1e4);
                    ps.add(e);
                }
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", texts.get(i));
                o.put("predictions", ps);
                out.println(Common.json(o));
            } else {
                StringBuilder sb = new StringBuilder(texts.get(i)).append("\t");
                for (FillMask.Prediction p : preds.get(i)) sb.append(String.format(Locale.ROOT, " %s (%.4f)", p.token(), p.score()));
                out.println(sb);
            }
        }
        out.flush();
    }
}
