package io.peft4j.sft.encode;

import io.peft4j.core.PeftException;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.hf.ChatTemplate;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How conversations become text for one model: a chat template (the model's own from {@code tokenizer_config.json}, or a
 * {@link BuiltinTemplates built-in} by name), the model's tokenizer, and extra template variables (for example
 * {@code enable_thinking}).
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizers.load(modelDir);
 * ChatFormat chat = ChatFormat.resolve(modelDir, null, tok);          // the model's template; else name one: "instruction"
 * String prompt = chat.render(List.of(Message.user("Hi")), true);   // what generation continues
 * }</pre>
 */
public final class ChatFormat {
    private static final Logger LOG = LoggerFactory.getLogger(ChatFormat.class);

    private final String name;
    private final ChatTemplate template;
    private final Tokenizer tokenizer;
    private final Map<String, Object> extra;

    private ChatFormat(String name, ChatTemplate template, Tokenizer tokenizer, Map<String, ?> extra) {
        this.name = name;
        this.template = template;
        this.tokenizer = tokenizer;
        this.extra = Map.copyOf(extra);
    }

    /** A template given in code; {@code extra} variables are defined in every rendering. */
    public static ChatFormat of(String name, ChatTemplate template, Tokenizer tokenizer, Map<String, ?> extra) {
        return new ChatFormat(name, template, tokenizer, extra);
    }

    /**
     * The chat format for model directory {@code modelDir}: with {@code name} null, the default {@code chat_template} of its
     * {@code tokenizer_config.json} (an error naming the built-ins when it has none); a built-in's name
     * ({@link BuiltinTemplates#names()}); else the template of that name in the config's list of named templates.
     */
    public static ChatFormat resolve(Path modelDir, String name, Tokenizer tokenizer) {
        if (name != null && BuiltinTemplates.source(name) != null) return builtin(name, tokenizer);
        Path cfg = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(cfg) || !hasTemplate(cfg)) {
            throw PeftException.inFile(modelDir, (name == null ? "the model has no chat template" : "no chat template named '" + name + "'")
                    + " (no chat_template in tokenizer_config.json): name a built-in one, " + String.join(", ", BuiltinTemplates.names()));
        }
        return new ChatFormat(name == null ? "model" : name, ChatTemplate.fromConfig(cfg, name), tokenizer, Map.of());
    }

    private static boolean hasTemplate(Path cfg) {
        var n = io.peft4j.core.io.Json.read(cfg).get("chat_template");
        return n != null && !n.isNull();
    }

    /** Built-in template {@code name} ({@link BuiltinTemplates}) with {@code tokenizer}'s start and end tokens. */
    public static ChatFormat builtin(String name, Tokenizer tokenizer) {
        String src = BuiltinTemplates.source(name);
        if (src == null) throw new PeftException("no built-in chat template '" + name + "' (there are: " + String.join(", ", BuiltinTemplates.names()) + ")");
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("bos_token", leadingSpecialText(tokenizer));
        String eos = tokenizer.eosId() >= 0 ? tokenizer.decode(new int[]{tokenizer.eosId()}, false) : "";
        if (eos.isEmpty()) LOG.warn("the tokenizer has no end-of-sequence token: responses of the '{}' template end with nothing, and a model trained on them does not learn to stop", name);
        vars.put("eos_token", eos);
        return new ChatFormat(name, ChatTemplate.of("built-in chat template '" + name + "'", src, vars), tokenizer, Map.of());
    }

    /** The text of the special tokens the tokenizer's post-processor puts before a single text (Llama's BOS; GPT-2: none). */
    private static String leadingSpecialText(Tokenizer tok) {
        int probe = 0;
        try {
            Encoding e = tok.withSpecialTokens(new int[]{probe}, null);
            int[] ids = e.ids();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == probe) return tok.decode(java.util.Arrays.copyOf(ids, i), false);
            }
        } catch (RuntimeException e) {
            LOG.debug("no leading special tokens: {}", e.getMessage());
        }
        return "";
    }

    /** The format's name: a built-in's, a named model template's, or {@code model}. */
    public String name() {
        return name;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate template() {
        return template;
    }

    /** The same format with {@code variables} added to every rendering ({@code enable_thinking}, {@code tools}, ...). */
    public ChatFormat withVariables(Map<String, ?> variables) {
        Map<String, Object> all = new LinkedHashMap<>(extra);
        all.putAll(variables);
        return new ChatFormat(name, template, tokenizer, all);
    }

    /** Renders {@code messages}; template faults name the template and its line. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return template.render(Message.toTemplate(messages), addGenerationPrompt, extra);
    }

    /** As {@link #render}, a template fault also naming the conversation's file and line. */
    public String render(Conversation c, List<Message> messages, boolean addGenerationPrompt) {
        try {
            return render(messages, addGenerationPrompt);
        } catch (PeftException e) {
            throw e.with("rendering " + c.where());
        }
    }

    /** The ids generation continues from: {@code history} rendered with the generation prompt, tokenized. */
    public int[] promptIds(List<Message> history) {
        return tokenizer.encodeText(render(history, true));
    }
}
