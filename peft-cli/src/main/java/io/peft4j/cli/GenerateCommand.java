package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.model.Models;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.sft.data.InstructionFormat;
import io.peft4j.sft.data.Message;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.eval.GenerationEval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt with a decoder (GPT-2, Llama, Mistral, Qwen2), using its key/value cache. Greedy when --temperature is 0.",
                "With --adapter, through a trained adapter; with --chat, the prompt is a user message rendered by the chat format and only the "
                        + "assistant's answer is printed."})
final class GenerateCommand implements Runnable {
    @Option(names = "--model", description = "Model directory with config.json, weights and tokenizer files (default: the base model an --adapter's sft.json names).")
    String model;
    @Option(names = "--adapter", paramLabel = "DIR", description = "An adapter directory (Hugging Face PEFT layout), e.g. 'peft train --format ... --output DIR'.")
    Path adapter;
    @Option(names = "--chat", description = "Render the prompt as a user message with the chat format and print only the answer (up to the end-of-sequence "
            + "or end-of-turn token, or a stop string).")
    boolean chat;
    @Option(names = "--chat-template", paramLabel = "NAME", description = "With --chat: the chat format (default: the adapter's, from its sft.json; else the model's own; "
            + "else the built-in instruction).")
    String chatTemplate;
    @Option(names = "--stop", paramLabel = "S", description = "End the text before this string (repeatable).")
    List<String> stop;
    @Option(names = "--max-new-tokens", defaultValue = "20", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "Sampling temperature; 0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for sampling (default ${DEFAULT-VALUE}).")
    long seed;
    @Parameters(index = "0", paramLabel = "PROMPT", description = "Text to continue, or with --chat the user's message.")
    String prompt;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (chatTemplate != null && !chat) throw new PeftException("--chat-template applies with --chat");
        List<String> stops = stop == null ? List.of() : stop;
        if (stops.stream().anyMatch(String::isEmpty)) throw new PeftException("--stop: an empty stop string");
        Sft.Settings settings = Sft.Settings.read(adapter);
        Sft.Loaded m = Sft.Loaded.of(model, adapter, settings, "generate");
        Tokenizer tok = m.tokenizer();
        Decoder g = (Decoder) m.base();
        int[] eos = Models.eosTokenIds(m.modelDir(), tok.eosId());     // every id the config lists (Llama 3: end of text and end of turn)
        String text;
        if (chat) {
            InstructionFormat format = settings == null ? InstructionFormat.CHAT : settings.format();
            ChatFormat cf = Sft.chatFormat(m.modelDir(), chatTemplate != null ? chatTemplate : settings == null ? null : settings.chatTemplate(), tok, format);
            int[] ids = cf.promptIds(List.of(Message.user(prompt)));
            text = GenerationEval.decodeAnswer(tok, Generator.generate(g, ids, maxNewTokens, temperature, seed, eos), stops);
        } else {
            int[] ids = tok.encodeText(prompt);
            String more = tok.decode(Generator.generate(g, ids, maxNewTokens, temperature, seed, eos), true);
            for (String s : stops) {
                int i = more.indexOf(s);
                if (i >= 0) more = more.substring(0, i);
            }
            text = prompt + more;
        }
        spec.commandLine().getOut().println(text);
        spec.commandLine().getOut().flush();
    }
}
