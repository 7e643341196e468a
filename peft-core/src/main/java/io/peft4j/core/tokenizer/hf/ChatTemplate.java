package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;
import jinjava.javax.el.CompositeELResolver;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: the Jinja {@code chat_template} of its {@code tokenizer_config.json}, rendered as Hugging
 * Face's {@code apply_chat_template} renders it (Jinja with {@code trim_blocks} and {@code lstrip_blocks}; the
 * variables {@code messages}, {@code add_generation_prompt}, the special tokens {@code bos_token}, {@code eos_token},
 * {@code unk_token}, {@code pad_token}, and any extra ones such as {@code tools}; the functions
 * {@code raise_exception} and {@code strftime_now}; HF's {@code tojson}). The engine is Jinjava, with the small
 * compatibility layer {@link JinjaCompat} describes. The rendered text is then tokenized without adding special tokens
 * (the template writes them).
 *
 * <pre>{@code
 * ChatTemplate chat = ChatTemplate.fromConfig(dir.resolve("tokenizer_config.json"));
 * String prompt = chat.render(List.of(ChatTemplate.message("user", "Hi")), true);
 * int[] ids = chat.encode(tokenizer, List.of(ChatTemplate.message("user", "Hi")), true, Map.of());
 * }</pre>
 *
 * <p>Faults (no template, a syntax error, {@code raise_exception}, an error while rendering) are one
 * {@link PeftException} naming the file, the template and the line.
 */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = engine();

    private final Object source;
    private final String name;
    private final String template;
    private final Map<String, Object> variables;

    private ChatTemplate(Object source, String name, String template, Map<String, Object> variables) {
        this.source = source;
        this.name = name;
        this.template = JinjaCompat.rewrite(template);
        this.variables = variables;
    }

    private static Jinjava engine() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new JinjaCompat.PyStrings());
        resolver.add(com.hubspot.jinjava.el.JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(false).withLstripBlocks(false).withElResolver(resolver)   // JinjaCompat.rewrite trims
                .withLegacyOverrides(LegacyOverrides.newBuilder().withParseWhitespaceControlStrictly(true).withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true).withEvaluateMapKeys(true).withUseTrimmingForNotesAndExpressions(true).build())
                .build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaCompat.class, "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaCompat.class, "strftimeNow", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "peft_slice", JinjaCompat.class, "pySlice", Object.class, Object.class, Object.class, Object.class));
        j.getGlobalContext().registerFilter(new JinjaCompat.ToJson());
        return j;
    }

    /** The default chat template of {@code tokenizerConfigJson}, with its special tokens as variables. */
    public static ChatTemplate fromConfig(Path tokenizerConfigJson) {
        return fromConfig(tokenizerConfigJson, null);
    }

    /**
     * Template {@code name} of {@code tokenizerConfigJson} ({@code chat_template} may be a string or a list of
     * {@code {"name", "template"}}; a null name takes {@code "default"}, or the string).
     */
    public static ChatTemplate fromConfig(Path tokenizerConfigJson, String name) {
        return fromConfig(tokenizerConfigJson, Json.read(tokenizerConfigJson), name);
    }

    /** As {@link #fromConfig(Path, String)} from a parsed {@code tokenizer_config.json}; faults name {@code source}. */
    public static ChatTemplate fromConfig(Object source, JsonNode config, String name) {
        Where w = Where.root(source);
        w.object(config);
        JsonNode ct = config.get("chat_template");
        String template = null, chosen = name == null ? "default" : name;
        if (ct == null || ct.isNull()) throw w.at("chat_template").fail("missing: this tokenizer has no chat template");
        if (ct.isTextual()) {
            if (name != null && !name.equals("default")) throw w.at("chat_template").fail("is one template, not a list holding '" + name + "'");
            template = ct.asText();
        } else if (ct.isArray()) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < ct.size(); i++) {
                JsonNode t = w.at("chat_template").at(i).object(ct.get(i));
                String n = w.at("chat_template").at(i).text(t, "name", null);
                names.add(n);
                if (n.equals(chosen)) template = w.at("chat_template").at(i).text(t, "template", null);
            }
            if (template == null) throw w.at("chat_template").fail("no template named '" + chosen + "' (there are: " + String.join(", ", names) + ")");
        } else {
            throw w.at("chat_template").fail("must be a string or a list of {name, template}, not " + Where.kind(ct));
        }
        Map<String, Object> vars = new LinkedHashMap<>();
        for (String k : List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")) {
            JsonNode n = config.get(k);
            String v = n == null ? null : n.isTextual() ? n.asText() : n.path("content").isTextual() ? n.path("content").asText() : null;
            if (v != null) vars.put(k, v);
        }
        return new ChatTemplate(source, chosen, template, vars);
    }

    /** A template given as text; {@code variables} (e.g. {@code bos_token}) are defined in every rendering. */
    public static ChatTemplate of(String source, String template, Map<String, ?> variables) {
        return new ChatTemplate(source, "default", template, new LinkedHashMap<>(variables));
    }

    /** A message {@code {"role": role, "content": content}}. */
    public static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /** Renders {@code messages} (maps with {@code role}, {@code content}, ...). */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders {@code messages} with {@code extra} variables ({@code tools}, {@code documents},
     * {@code enable_thinking}, ...); values are strings, numbers, booleans, null, lists and maps of them.
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> vars = new LinkedHashMap<>(variables);
        vars.putAll(extra);
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r;
        try {
            r = JINJAVA.renderForResult(template, vars);
        } catch (RuntimeException e) {
            throw fault(-1, e.getMessage());
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() != TemplateError.ErrorType.FATAL) continue;
            Throwable cause = e.getException();
            while (cause != null && !(cause instanceof JinjaCompat.TemplateRaised) && cause.getCause() != cause) cause = cause.getCause();
            String msg = cause instanceof JinjaCompat.TemplateRaised ? "raise_exception: " + cause.getMessage() : e.getMessage();
            throw fault(e.getLineno(), msg);
        }
        return r.getOutput();
    }

    /** {@link #render} then {@code tok.encodeText}: the ids the model sees (no special tokens added beyond the template's). */
    public int[] encode(Tokenizer tok, List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        return tok.encodeText(render(messages, addGenerationPrompt, extra));
    }

    private PeftException fault(int line, String message) {
        return PeftException.inFile(source, "chat_template" + (name.equals("default") ? "" : " '" + name + "'") + (line > 0 ? " line " + line : "") + ": " + message);
    }
}
