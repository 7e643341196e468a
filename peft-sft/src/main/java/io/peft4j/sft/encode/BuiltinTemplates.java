package io.peft4j.sft.encode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Chat templates for models whose tokenizer has none (GPT-2, base models), by name. Each is a Jinja template rendered
 * like a model's own ({@link io.peft4j.core.tokenizer.hf.ChatTemplate}), with {@code bos_token} (what the tokenizer's
 * post-processor puts before a text, often nothing) and {@code eos_token} (the tokenizer's end-of-sequence token,
 * written after every response so that the model learns to stop):
 *
 * <ul>
 *   <li>{@code instruction}: the Alpaca layout without its preamble. A system turn is its text and a blank line; a user
 *       turn {@code "### Instruction:\n<text>\n\n"}; an assistant turn {@code "### Response:\n<text><eos>\n\n"}; the
 *       generation prompt {@code "### Response:\n"}.</li>
 *   <li>{@code plain}: every turn's text followed by a newline, a response's by {@code <eos>} and a newline; no
 *       generation prompt. For tiny contexts.</li>
 *   <li>{@code raw}: the turns' texts concatenated, a response followed by {@code <eos>}: prompt/completion data
 *       trained as plain text continuation (Hugging Face TRL's non-conversational prompt-completion).</li>
 * </ul>
 */
public final class BuiltinTemplates {
    private static final Map<String, String> TEMPLATES = new LinkedHashMap<>();

    static {
        TEMPLATES.put("instruction", "{{ bos_token }}{% for m in messages %}"
                + "{% if m.role == 'system' %}{{ m.content + '\\n\\n' }}"
                + "{% elif m.role == 'user' %}{{ '### Instruction:\\n' + m.content + '\\n\\n' }}"
                + "{% elif m.role == 'assistant' %}{{ '### Response:\\n' + m.content + eos_token + '\\n\\n' }}"
                + "{% else %}{{ raise_exception('the instruction template has no role ' + m.role + ' (system, user, assistant)') }}{% endif %}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}");
        TEMPLATES.put("plain", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}");
        TEMPLATES.put("raw", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}");
    }

    private BuiltinTemplates() {
    }

    /** The names, in documentation order. */
    public static java.util.Set<String> names() {
        return java.util.Collections.unmodifiableSet(TEMPLATES.keySet());
    }

    /** The Jinja source of template {@code name}, or null when there is no such built-in. */
    public static String source(String name) {
        return TEMPLATES.get(name);
    }
}
