package io.peft4j.prompt.verbalizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
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
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A verbalizer: each label and the words that express it at the answer position, e.g. positive -> great,
 * negative -> terrible. The order of the labels is the order of the classes (class index i is
 * {@code labels().get(i)}). Class score of class c (OpenPrompt's {@code ManualVerbalizer} order of operations):
 * <pre>
 * lp    = log_softmax_V(z)                      z: the LM logits at the answer position ({@link Normalization})
 * w(x)  = FIRST / MEAN / MAX of lp[t] over the tokens t of word x   ({@link MultiToken})
 * s_c   = mean of w(x) over the label words x of c
 * </pre>
 * Label words are tokenized with {@link #prefix()} in front (default {@code " "}, as OpenPrompt: a byte-level
 * BPE sees {@code " great"}, the token that follows a space; WordPiece ignores it).
 *
 * <pre>{@code
 * Verbalizer v = Verbalizer.parse("spam=spam,junk;ham=normal");   // labels spam, ham
 * LabelWords words = v.bind(tokenizer);                          // token ids; unknown words fail here
 * }</pre>
 */
public final class Verbalizer {
    /** The file name a verbalizer is saved under beside a trained model. */
    public static final String FILE = "verbalizer.json";

    private final Map<String, List<String>> words;
    private final MultiToken multiToken;
    private final Normalization normalization;
    private final String prefix;
    private final Object source;        // the file it was read from, or null

    private Verbalizer(Map<String, List<String>> words, MultiToken multiToken, Normalization normalization, String prefix, Object source) {
        this.source = source;
        Map<String, List<String>> m = new LinkedHashMap<>();
        words.forEach((k, v) -> m.put(k, List.copyOf(v)));
        this.words = java.util.Collections.unmodifiableMap(m);
        this.multiToken = multiToken;
        this.normalization = normalization;
        this.prefix = prefix;
    }

    /**
     * Label words in class order; FIRST for multi-token words, scores normalised over the vocabulary, prefix " ".
     * Faults (no labels, a label without words, an empty word or label) name the label.
     */
    public static Verbalizer of(Map<String, List<String>> labelWords) {
        if (labelWords.isEmpty()) throw new PeftException("verbalizer has no labels");
        if (labelWords.size() < 2) throw new PeftException("verbalizer has one label (" + labelWords.keySet() + "): classification needs at least two");
        for (var e : labelWords.entrySet()) {
            if (e.getKey() == null || e.getKey().isBlank()) throw new PeftException("verbalizer has an empty label");
            if (e.getValue() == null || e.getValue().isEmpty()) throw new PeftException("verbalizer label '" + e.getKey() + "' has no words");
            Set<String> seen = new LinkedHashSet<>();
            for (String w : e.getValue()) {
                if (w == null || w.isBlank()) throw new PeftException("verbalizer label '" + e.getKey() + "' has an empty word");
                if (!seen.add(w)) throw new PeftException("verbalizer label '" + e.getKey() + "' lists the word '" + w + "' twice");
            }
        }
        return new Verbalizer(labelWords, MultiToken.FIRST, Normalization.VOCABULARY, " ", null);
    }

    /**
     * Parses {@code label=word,word;label=word} (the {@code --verbalizer} syntax), e.g.
     * {@code spam=spam,junk;ham=normal}. Whitespace around labels and words is ignored; a trailing {@code ;} is allowed.
     */
    public static Verbalizer parse(String spec) {
        if (spec == null || spec.isBlank()) throw new PeftException("verbalizer is empty: write label=word,word;label=word");
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String entry : spec.split(";", -1)) {
            if (entry.isBlank()) continue;
            int eq = entry.indexOf('=');
            if (eq < 0) throw new PeftException("verbalizer '" + spec + "': '" + entry.strip() + "' is not label=word,word");
            String label = entry.substring(0, eq).strip();
            if (label.isEmpty()) throw new PeftException("verbalizer '" + spec + "': '" + entry.strip() + "' has no label before '='");
            if (m.containsKey(label)) throw new PeftException("verbalizer '" + spec + "': label '" + label + "' appears twice");
            List<String> ws = new ArrayList<>();
            for (String w : entry.substring(eq + 1).split(",", -1)) {
                if (w.isBlank()) throw new PeftException("verbalizer '" + spec + "': label '" + label + "' has an empty word");
                ws.add(w.strip());
            }
            m.put(label, ws);
        }
        try {
            return of(m);
        } catch (PeftException e) {
            throw new PeftException("verbalizer '" + spec + "': " + e.getMessage().replaceFirst("^verbalizer ", ""));
        }
    }

    /** This verbalizer, scoring words of several tokens by {@code multiToken}. */
    public Verbalizer withMultiToken(MultiToken multiToken) {
        return new Verbalizer(words, multiToken, normalization, prefix, source);
    }

    /** This verbalizer with the word scores normalised as {@code normalization} says. */
    public Verbalizer withNormalization(Normalization normalization) {
        return new Verbalizer(words, multiToken, normalization, prefix, source);
    }

    /** The text put before every label word when it is tokenized ({@code ""} to tokenize the words as they are). */
    public Verbalizer withPrefix(String prefix) {
        return new Verbalizer(words, multiToken, normalization, prefix, source);
    }

    /** The labels in class order. */
    public List<String> labels() {
        return List.copyOf(words.keySet());
    }

    /** The words of {@code label}; an unknown label is an error listing the labels. */
    public List<String> words(String label) {
        List<String> w = words.get(label);
        if (w == null) throw new PeftException("verbalizer has no label '" + label + "' (labels: " + labels() + ")");
        return w;
    }

    /** How words of several tokens are scored. */
    public MultiToken multiToken() {
        return multiToken;
    }

    /** What the word scores are computed from. */
    public Normalization normalization() {
        return normalization;
    }

    /** The text put before every label word when it is tokenized. */
    public String prefix() {
        return prefix;
    }

    /**
     * Fails when the data's labels and the verbalizer's differ: a data label without label words, or a verbalizer
     * label the data never uses. {@code source} names the data in the message.
     */
    public void checkLabels(Collection<String> dataLabels, Object source) {
        Set<String> data = new LinkedHashSet<>(dataLabels);
        for (String l : data) {
            if (!words.containsKey(l)) {
                throw PeftException.inFile(source, "label '" + l + "' has no words in the verbalizer (its labels: " + labels() + ")");
            }
        }
        for (String l : words.keySet()) {
            if (!data.contains(l)) throw PeftException.inFile(source, "the verbalizer's label '" + l + "' never occurs in the data (its labels: " + data + ")");
        }
    }

    /** Tokenizes the label words; a word that is unknown to the tokenizer (or longer than one token under {@link MultiToken#SINGLE}) fails here. */
    public LabelWords bind(Tokenizer tokenizer) {
        return new LabelWords(this, tokenizer);
    }

    // ------------------------------------------------------------------ file form

    /**
     * {@code {"labels": {"spam": ["spam", "junk"], "ham": ["normal"]}, "multi_token": "first", "normalization":
     * "vocabulary", "prefix": " "}}; the order of {@code labels} is the class order.
     */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        ObjectNode l = n.putObject("labels");
        words.forEach((label, ws) -> {
            ArrayNode a = l.putArray(label);
            ws.forEach(a::add);
        });
        n.put("multi_token", multiToken.name().toLowerCase(Locale.ROOT));
        n.put("normalization", normalization.name().toLowerCase(Locale.ROOT));
        n.put("prefix", prefix);
        return n;
    }

    /** Reads {@link #toJson}'s form (only {@code labels} is required); faults name {@code file} and the field. */
    public static Verbalizer fromJson(JsonNode json, Object file) {
        if (json == null || !json.isObject()) throw PeftException.inFile(file, "not a JSON object");
        JsonNode labels = json.get("labels");
        if (labels == null || !labels.isObject()) {
            throw PeftException.inFile(file, "field 'labels' " + (labels == null ? "is missing" : "must be an object of label -> [words], not " + labels));
        }
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = labels.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode ws = e.getValue();
            List<String> list = new ArrayList<>();
            if (ws.isTextual()) list.add(ws.asText());
            else if (ws.isArray()) {
                for (JsonNode w : ws) {
                    if (!w.isTextual()) throw PeftException.inFile(file, "field 'labels." + e.getKey() + "' must list words (strings), not " + w);
                    list.add(w.asText());
                }
            } else {
                throw PeftException.inFile(file, "field 'labels." + e.getKey() + "' must be a word or a list of words, not " + ws);
            }
            m.put(e.getKey(), list);
        }
        Verbalizer v;
        try {
            v = of(m);
        } catch (PeftException e) {
            throw PeftException.inFile(file, "field 'labels': " + e.getMessage());
        }
        v = v.withMultiToken(enumField(json, "multi_token", MultiToken.class, MultiToken.FIRST, file));
        v = v.withNormalization(enumField(json, "normalization", Normalization.class, Normalization.VOCABULARY, file));
        JsonNode p = json.get("prefix");
        if (p != null && !p.isNull()) {
            if (!p.isTextual()) throw PeftException.inFile(file, "field 'prefix' must be a string, not " + p);
            v = v.withPrefix(p.asText());
        }
        return new Verbalizer(v.words, v.multiToken, v.normalization, v.prefix, file);
    }

    /** The file this verbalizer was read from ({@link #fromJson}), or null: messages about its words name it. */
    public Object source() {
        return source;
    }

    private static <E extends Enum<E>> E enumField(JsonNode json, String field, Class<E> type, E dflt, Object file) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) return dflt;
        if (n.isTextual()) {
            for (E e : type.getEnumConstants()) if (e.name().equalsIgnoreCase(n.asText())) return e;
        }
        List<String> names = java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList();
        throw PeftException.inFile(file, "field '" + field + "' is " + n + ", not one of " + names);
    }

    /** Reads a {@value #FILE} file; faults name the file and the field. */
    public static Verbalizer read(Path file) {
        return fromJson(Json.read(file), file);
    }

    /** Writes the JSON form atomically. */
    public void write(Path file) {
        Json.write(file, toJson());
    }

    /** The {@code label=word,word;...} form {@link #parse} reads (multi-token handling, normalisation and prefix are not part of it). */
    public String spec() {
        StringBuilder sb = new StringBuilder();
        words.forEach((l, ws) -> sb.append(sb.length() == 0 ? "" : ";").append(l).append('=').append(String.join(",", ws)));
        return sb.toString();
    }

    @Override
    public String toString() {
        return spec();
    }
}
