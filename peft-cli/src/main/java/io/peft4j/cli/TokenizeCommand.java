package io.peft4j.cli;

import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Token ids of each text as the model's tokenizer gives them (BERT adds [CLS]/[SEP], GPT-2 nothing).")
final class TokenizeCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory (config.json + tokenizer files suffice) or name.")
    String model;
    @Option(names = "--json", description = "One JSON object per line: {\"text\", \"ids\", \"tokens\"}.")
    boolean json;
    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to tokenize.")
    List<String> texts;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Tokenizer tok = Tokenizers.load(ModelHub.resolve(model));
        var out = spec.commandLine().getOut();
        for (String t : texts) {
            Encoding e = tok.encode(t);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", t);
                o.put("ids", e.ids());
                o.put("tokens", e.tokens());
                out.println(Common.json(o));
            } else {
                out.println(String.join(" ", java.util.Arrays.stream(e.ids()).mapToObj(String::valueOf).toList()) + "\t" + String.join(" ", e.tokens()));
            }
        }
        out.flush();
    }
}
