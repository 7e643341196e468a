package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Merging;
import io.peft4j.core.peft.PeftModel;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Fold a LoRA or IA3 adapter into the base weights and write a plain Hugging Face checkpoint (config.json, "
                + "model.safetensors in float32, the tokenizer files), which peft4j and transformers load as a model without PEFT.",
                "The output directory is replaced whole or not at all."})
final class MergeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "The base model: a directory (config.json + weights) or a known name.")
    String model;
    @Option(names = "--adapter", required = true, description = "The adapter directory (Hugging Face PEFT layout): LoRA or IA3.")
    Path adapter;
    @Option(names = "--output", required = true, description = "Where to write the merged model.")
    Path output;
    @Option(names = "--json", description = "Print a JSON summary.")
    boolean json;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Path dir = ModelHub.resolve(model);
        AtomicFiles.requireOutside(output, "--output", dir, "model directory");
        AtomicFiles.requireOutside(output, "--output", adapter, "adapter directory");
        TransformerModel base = Models.load(dir, DataType.FLOAT);
        PeftModel peft = PeftModel.of(base);
        var a = peft.load(adapter, PeftModel.DEFAULT);
        if (peft.head() != null) throw PeftException.inFile(adapter, "has a task head: a merged checkpoint holds the base model only (use the adapter directory with its head)");
        Merging.writeMerged(peft, dir, output);
        var out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("output", output.toString());
            o.put("method", a.config().peftType());
            o.put("model_type", base.config().modelType());
            o.put("parameters", base.parameterCount());
            out.println(Common.json(o));
        } else {
            out.println("merged " + a.config().peftType() + " adapter " + adapter + " into " + base.config().modelType() + " (" + base.parameterCount()
                    + " parameters): " + output);
        }
        out.flush();
    }
}
