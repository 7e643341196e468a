package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.ParameterCount;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "params", mixinStandardHelpOptions = true,
        description = "Trainable and total parameters of a method on a model, from its config.json alone (Hugging Face PEFT's counting).")
final class ParamsCommand implements Runnable {
    @Option(names = "--config", required = true, description = "A model's config.json (or its directory).")
    Path config;
    @Mixin
    MethodOptions method;
    @Option(names = "--json", description = "Print {\"trainable\": T, \"all\": A, \"trainable_percent\": P}.")
    boolean json;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Path file = Files.isDirectory(config) ? config.resolve("config.json") : config;
        if (!Files.isRegularFile(file)) throw PeftException.inFile(file, "no such file");
        ModelConfig cfg = ModelConfig.load(file);
        PeftModel m = PeftModel.of(Models.describe(cfg));
        PeftConfig pc = method.config(cfg.hidden());
        ParameterCount count;
        if (pc == null) {
            count = new ParameterCount(method.full() ? m.base().parameterCount() : 0, m.base().parameterCount());
        } else {
            try {
                m.add("default", pc);
            } catch (IllegalArgumentException e) {
                throw new PeftException("--method " + method.method + ": " + e.getMessage());
            }
            count = m.parameterCount();
        }
        var out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("trainable", count.trainable());
            o.put("all", count.all());
            o.put("trainable_percent", Math.round(count.trainablePercent() * 10000) / 10000.0);
            out.println(Common.json(o));
        } else {
            out.println(count);
        }
        out.flush();
    }
}
