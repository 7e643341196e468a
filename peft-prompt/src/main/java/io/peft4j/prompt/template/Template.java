package io.peft4j.prompt.template;

import io.peft4j.core.data.Truncation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A prompt template: text with slots that a record's fields fill, e.g. {@code "{text} All in all, it was {mask}."}.
 *
 * <table>
 * <caption>Slots</caption>
 * <tr><td>{@code {text}}, {@code {text_b}}</td><td>the record's text field and its second text field (a pair's
 * second text); {@link #withField} says which record fields they are (default: fields named {@code text} and
 * {@code text_b})</td></tr>
 * <tr><td>{@code {field:NAME}}</td><td>the record's field {@code NAME}</td></tr>
 * <tr><td>{@code {mask}}</td><td>where the answer is: the mask token of a masked LM; for a decoder, the end of
 * the prompt</td></tr>
 * <tr><td>{@code {soft}}</td><td>one trainable soft token, initialised at random</td></tr>
 * <tr><td>{@code {soft:WORDS}}</td><td>one trainable soft token per token of WORDS, initialised with their
 * embeddings (OpenPrompt's {@code {"soft": "WORDS"}})</td></tr>
 * <tr><td><code>{{</code>, <code>}}</code></td><td>literal braces</td></tr>
 * </table>
 *
 * <p>Like OpenPrompt, each part is tokenized on its own and the tokens are concatenated; the whitespace before a
 * part in the template is kept in front of it (so byte-level BPE sees {@code " It"}), and whitespace at the end
 * of template text belongs to the next part. Field values are stripped of surrounding whitespace. When the
 * result is longer than the model takes, only the fields are shortened ({@link Truncation}).
 *
 * <pre>{@code
 * Template t = Template.parse("{text} It was {mask}.").withField("text", "body");
 * TemplateEncoder enc = t.encoder(tokenizer, AnswerMode.MASK, 512);
 * Rendered r = enc.encode(Map.of("body", "A gripping film"));   // [CLS] a gripping film it was [MASK] . [SEP]
 * }</pre>
 */
public final class Template {
    /** The file name a template is saved under beside a trained model. */
    public static final String FILE = "template.json";
    /** The slots {@code {text}} and {@code {text_b}}. */
    public static final String TEXT = "text", TEXT_B = "text_b";

    /** One piece of a template. {@code lead} is the whitespace that precedes it in the template ("" or e.g. " "). */
    public sealed interface Part permits Literal, Field, Mask, Soft {
        String lead();
    }

    /** Template words, never shortened. */
    public record Literal(String text, String lead) implements Part {
    }

    /** A slot the record fills: {@code text}, {@code text_b} or a {@code {field:NAME}} name. */
    public record Field(String slot, String lead) implements Part {
    }

    /** The answer slot. */
    public record Mask(String lead) implements Part {
    }

    /** Trainable soft tokens: one initialised at random ({@code words == null}) or one per token of {@code words}. */
    public record Soft(String words, String lead) implements Part {
    }

    private final String text;
    private final List<Part> parts;
    private final Truncation truncation;
    private final Map<String, String> fieldNames;   // slot -> record field, where they differ
    private final Object source;                    // the file it was read from, or null

    private Template(String text, List<Part> parts, Truncation truncation, Map<String, String> fieldNames, Object source) {
        this.text = text;
        this.parts = List.copyOf(parts);
        this.truncation = truncation;
        this.fieldNames = Map.copyOf(fieldNames);
        this.source = source;
    }

    /** Parses {@code text}; faults (unknown slot, unclosed brace, two masks, no slot for the input) name the template and the place. */
    public static Template parse(String text) {
        if (text == null || text.isBlank()) throw new PeftException("template is empty");
        List<Part> parts = new ArrayList<>();
        StringBuilder lit = new StringBuilder();
        String pending = "";                        // whitespace that ended the last template text
        int masks = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{' && i + 1 < text.length() && text.charAt(i + 1) == '{') {
                lit.append('{');
                i++;
            } else if (c == '}' && i + 1 < text.length() && text.charAt(i + 1) == '}') {
                lit.append('}');
                i++;
            } else if (c == '}') {
                throw fault(text, i, "'}' without a '{' before it (write '}}' for a literal brace)");
            } else if (c == '{') {
                pending = flush(lit, parts, pending);
                int end = text.indexOf('}', i);
                if (end < 0) throw fault(text, i, "'{' is never closed (write '{{' for a literal brace)");
                Part p = slot(text, i, text.substring(i + 1, end), pending);
                if (p instanceof Mask && ++masks > 1) throw fault(text, i, "a second {mask}: a template has one answer");
                parts.add(p);
                pending = "";
                i = end;
            } else {
                lit.append(c);
            }
        }
        flush(lit, parts, pending);
        if (parts.stream().noneMatch(p -> p instanceof Field)) {
            throw new PeftException("template '" + text + "' has no slot for the input ({text}, {text_b} or {field:NAME})");
        }
        return new Template(text, parts, Truncation.END, Map.of(), null);
    }

    /** Adds the buffered template text as a part; returns the whitespace that ends it (the next part's lead). */
    private static String flush(StringBuilder lit, List<Part> parts, String pending) {
        if (lit.length() == 0) return pending;
        String s = lit.toString();
        lit.setLength(0);
        String body = s.strip();
        if (body.isEmpty()) return pending + s;
        int start = s.indexOf(body);
        parts.add(new Literal(body, pending + s.substring(0, start)));
        return s.substring(start + body.length());
    }

    private static Part slot(String text, int at, String inside, String lead) {
        String s = inside.strip();
        int colon = s.indexOf(':');
        String kind = colon < 0 ? s : s.substring(0, colon).strip();
        String arg = colon < 0 ? null : s.substring(colon + 1).strip();
        switch (kind) {
            case "text", "text_b", "mask" -> {
                if (arg != null) throw fault(text, at, "{" + kind + "} takes no argument");
                return kind.equals("mask") ? new Mask(lead) : new Field(kind, lead);
            }
            case "field" -> {
                if (arg == null || arg.isEmpty()) throw fault(text, at, "{field:NAME} needs a field name");
                return new Field(arg, lead);
            }
            case "soft" -> {
                if (arg != null && arg.isEmpty()) throw fault(text, at, "{soft:WORDS} needs words (or write {soft})");
                return new Soft(arg, lead);
            }
            default -> throw fault(text, at, "unknown slot {" + inside + "} (slots: {text}, {text_b}, {field:NAME}, {mask}, {soft}, {soft:WORDS})");
        }
    }

    private static PeftException fault(String text, int at, String what) {
        return new PeftException("template '" + text + "', character " + (at + 1) + ": " + what);
    }

    // ------------------------------------------------------------------ options

    /** This template, shortening its fields at {@code truncation}'s end. */
    public Template withTruncation(Truncation truncation) {
        return new Template(text, parts, truncation, fieldNames, source);
    }

    /** This template, filling {@code slot} ({@code text}, {@code text_b}, or a {@code field:} name) from the record field {@code recordField}. */
    public Template withField(String slot, String recordField) {
        if (parts.stream().noneMatch(p -> p instanceof Field f && f.slot().equals(slot))) {
            throw new PeftException("template '" + text + "' has no slot '" + slot + "' (its slots: " + slots() + ")");
        }
        Map<String, String> m = new LinkedHashMap<>(fieldNames);
        if (slot.equals(recordField)) m.remove(slot);
        else m.put(slot, recordField);
        return new Template(text, parts, truncation, m, source);
    }

    /** The template as written. */
    public String text() {
        return text;
    }

    /** The parsed parts, in order. */
    public List<Part> parts() {
        return parts;
    }

    /** Which end of a field loses tokens when a record is too long. */
    public Truncation truncation() {
        return truncation;
    }

    /** The slot names the template fills, in order of first use. */
    public List<String> slots() {
        Set<String> s = new LinkedHashSet<>();
        for (Part p : parts) if (p instanceof Field f) s.add(f.slot());
        return List.copyOf(s);
    }

    /** The record field that fills {@code slot}. */
    public String recordField(String slot) {
        return fieldNames.getOrDefault(slot, slot);
    }

    /** The record fields the template reads, in order of first use. */
    public List<String> recordFields() {
        return slots().stream().map(this::recordField).distinct().toList();
    }

    /** Whether the template has {@code {mask}}. */
    public boolean hasMask() {
        return parts.stream().anyMatch(p -> p instanceof Mask);
    }

    /** Whether the template has {@code {soft}} or {@code {soft:WORDS}} slots. */
    public boolean hasSoftTokens() {
        return parts.stream().anyMatch(p -> p instanceof Soft);
    }

    /**
     * Fails when the data lacks a field the template reads: {@code available} are the data's field names,
     * {@code source} names the data (a file) in the message.
     */
    public void requireFields(Collection<String> available, Object source) {
        for (String slot : slots()) {
            String f = recordField(slot);
            if (!available.contains(f)) {
                throw PeftException.inFile(source, "template '" + text + "' reads field '" + f + "'" + (f.equals(slot) ? "" : " (slot {" + slot + "})")
                        + ", which the data lacks (its fields: " + new TreeSet<>(available) + ")");
            }
        }
    }

    /** A record with {@code value} in every field the template reads (the content-free input of calibration). */
    public Map<String, String> recordOf(String value) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String f : recordFields()) m.put(f, value);
        return m;
    }

    /** Binds the template to a tokenizer, an answer mode and a length limit (special tokens included); validates it for them. */
    public TemplateEncoder encoder(Tokenizer tokenizer, AnswerMode mode, int maxLength) {
        return new TemplateEncoder(this, tokenizer, mode, maxLength);
    }

    // ------------------------------------------------------------------ file form

    /** {@code {"template": "...", "truncation": "end", "fields": {"text": "body"}}} ({@code fields} only where a slot reads another field). */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("template", text);
        n.put("truncation", truncation.name().toLowerCase(java.util.Locale.ROOT));
        if (!fieldNames.isEmpty()) {
            ObjectNode f = n.putObject("fields");
            for (String slot : slots()) if (fieldNames.containsKey(slot)) f.put(slot, fieldNames.get(slot));
        }
        return n;
    }

    /** Reads {@link #toJson}'s form; faults name {@code file} and the field. */
    public static Template fromJson(JsonNode json, Object file) {
        if (json == null || !json.isObject()) throw PeftException.inFile(file, "not a JSON object");
        JsonNode t = json.get("template");
        if (t == null || !t.isTextual()) throw PeftException.inFile(file, "field 'template' " + (t == null ? "is missing" : "must be a string, not " + t));
        Template out;
        try {
            out = parse(t.asText());
        } catch (PeftException e) {
            throw PeftException.inFile(file, "field 'template': " + e.getMessage());
        }
        JsonNode tr = json.get("truncation");
        if (tr != null && !tr.isNull()) {
            Truncation cut = tr.isTextual() ? Truncation.parse(tr.asText()) : null;
            if (cut == null) throw PeftException.inFile(file, "field 'truncation' is " + tr + ", not \"end\" or \"start\"");
            out = out.withTruncation(cut);
        }
        JsonNode f = json.get("fields");
        if (f != null && !f.isNull()) {
            if (!f.isObject()) throw PeftException.inFile(file, "field 'fields' must be an object of slot -> record field, not " + f);
            for (Iterator<Map.Entry<String, JsonNode>> it = f.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().isTextual() || e.getValue().asText().isEmpty()) {
                    throw PeftException.inFile(file, "field 'fields." + e.getKey() + "' must be a record field name, not " + e.getValue());
                }
                try {
                    out = out.withField(e.getKey(), e.getValue().asText());
                } catch (PeftException ex) {
                    throw PeftException.inFile(file, "field 'fields." + e.getKey() + "': " + ex.getMessage());
                }
            }
        }
        return out.withSource(file);
    }

    /** This template, saying in messages that it comes from {@code source} (a file, a file and line). */
    public Template withSource(Object source) {
        return new Template(text, parts, truncation, fieldNames, source);
    }

    /** The file this template was read from ({@link #fromJson}), or null. */
    public Object source() {
        return source;
    }

    /** {@code template '<text>'}, with the file it was read from: how messages about the template name it. */
    public String describe() {
        return "template '" + text + "'" + (source == null ? "" : " (" + source + ")");
    }

    /** Reads a {@value #FILE} file; faults name the file and the field. */
    public static Template read(Path file) {
        return fromJson(Json.read(file), file);
    }

    /** Writes the JSON form atomically. */
    public void write(Path file) {
        Json.write(file, toJson());
    }

    @Override
    public String toString() {
        return text;
    }
}
