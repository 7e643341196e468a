package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
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

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a decoder (GPT-2, Llama, Mistral, Qwen2), using its key/value cache. Greedy when --temperature is 0.")
final class GenerateCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory with config.json, weights and tokenizer files.")
    String model;
    @Option(names = "--max-new-tokens", defaultValue = "20", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "Sampling temperature; 0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for sampling (default ${DEFAULT-VALUE}).")
    long seed;
    @Parameters(index = "0", paramLabel = "PROMPT", description = "Text to continue.")
    String prompt;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Path dir = ModelHub.resolve(model);
        Tokenizer tok = Tokenizers.load(dir);
        TransformerModel m = Models.load(dir, DataType.FLOAT);
        if (!(m instanceof Decoder g)) throw new PeftException("generate needs a decoder model; " + dir + " holds a " + m.config().modelType() + " encoder");
        int eos = tok.eosId();
        int[] ids = tok.encodeText(prompt);
        int[] out = Generator.generate(g, ids, maxNewTokens, temperature, seed, eos);
        spec.commandLine().getOut().println(prompt + tok.decode(out, true));
        spec.commandLine().getOut().flush();
    }
}
