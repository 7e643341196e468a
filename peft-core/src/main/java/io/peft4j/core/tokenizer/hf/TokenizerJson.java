package io.peft4j.core.tokenizer.hf;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.TextFiles;
import io.peft4j.core.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@code tokenizer.json} as read: its large parts ({@code model.vocab}, {@code model.merges}) streamed straight into
 * tables, everything else as a JSON tree ({@link #root}, where those two fields are absent when they were read as
 * tables). Streaming keeps loading a 150k-token vocabulary fast. The vocabulary is checked as it is read: ids
 * integers in {@code 0..}{@value Tokenizers#MAX_TOKEN_ID}, no id shared, no token twice, not empty; and each merge is
 * {@code "a b"} or {@code ["a", "b"]}. Faults name the file and field.
 *
 * @param source the file (or name) faults name
 * @param root   the file's JSON object without {@code model.vocab} / {@code model.merges} when those are in the tables
 * @param vocab  token to id ({@code model.vocab}), or null when the model has no vocabulary object
 * @param byId   tokens by id, null where no token has that id (null with {@code vocab})
 * @param mergeA the first symbols of the merges in rank order, or null when {@code model.merges} is not an array
 * @param mergeB the second symbols
 */
public record TokenizerJson(Object source, ObjectNode root, Map<String, Integer> vocab, String[] byId, String[] mergeA, String[] mergeB) {
    /**
     * Jackson's factory without field-name interning and canonicalization: a vocabulary's 150k tokens are field
     * names, and putting each in the symbol table (and {@link String#intern}) would cost more than the rest of the parse.
     */
    private static final JsonFactory FACTORY = JsonFactory.builder().disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build().setCodec(Json.MAPPER);

    /** Reads {@code file} (strict UTF-8, streamed). */
    public static TokenizerJson read(Path file) {
        byte[] bytes = TextFiles.readUtf8(file);
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return read(file, p);
        } catch (IOException e) {
            throw malformed(file, e);
        }
    }

    /** Takes an already parsed {@code tokenizer.json} ({@code root}); faults name {@code source}. */
    public static TokenizerJson of(Object source, JsonNode root) {
        try (JsonParser p = Json.MAPPER.treeAsTokens(root)) {
            return read(source, p);
        } catch (IOException e) {
            throw malformed(source, e);
        }
    }

    private static PeftException malformed(Object source, IOException e) {
        if (e instanceof JsonProcessingException j) {
            var loc = j.getLocation();
            String where = loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
            return PeftException.inFile(source, "malformed JSON" + where + ": " + j.getOriginalMessage());
        }
        return PeftException.inFile(source, "cannot read: " + e.getMessage());
    }

    private static TokenizerJson read(Object source, JsonParser p) throws IOException {
        JsonToken first = p.nextToken();
        if (first == null) throw PeftException.inFile(source, "empty file: no JSON value");
        if (first != JsonToken.START_OBJECT) throw PeftException.inFile(source, "must be a JSON object, not " + Where.kind(p.readValueAsTree()));
        Where w = Where.root(source);
        ObjectNode root = Json.MAPPER.createObjectNode();
        Tables t = new Tables();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("model") && v == JsonToken.START_OBJECT) root.set("model", model(w.at("model"), p, t));
            else root.set(name, tree(p));
        }
        if (p.nextToken() != null) throw PeftException.inFile(source, "malformed JSON: content after the JSON value");
        return new TokenizerJson(source, root, t.vocab, t.byId, t.a, t.b);
    }

    private static JsonNode tree(JsonParser p) throws IOException {
        JsonNode n = p.readValueAsTree();
        return n == null ? NullNode.instance : n;
    }

    /** What the streaming parse fills in. */
    private static final class Tables {
        Map<String, Integer> vocab;
        String[] byId, a, b;
    }

    private static ObjectNode model(Where w, JsonParser p, Tables t) throws IOException {
        ObjectNode m = Json.MAPPER.createObjectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("vocab") && v == JsonToken.START_OBJECT) vocab(w.at("vocab"), p, t);
            else if (name.equals("merges") && v == JsonToken.START_ARRAY) merges(w.at("merges"), p, t);
            else m.set(name, tree(p));
        }
        return m;
    }

    private static void vocab(Where w, JsonParser p, Tables t) throws IOException {
        Map<String, Integer> vocab = new HashMap<>(1 << 18);
        String[] byId = new String[1 << 12];
        int max = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            JsonToken v = p.nextToken();
            int id;
            if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT && p.getIntValue() >= 0 && p.getIntValue() <= Tokenizers.MAX_TOKEN_ID) {
                id = p.getIntValue();
            } else {
                throw w.fail("token '" + token + "' has id " + tree(p) + ": ids are integers in 0.." + Tokenizers.MAX_TOKEN_ID);
            }
            if (id >= byId.length) byId = Arrays.copyOf(byId, Math.max(id + 1, byId.length * 2));
            if (byId[id] != null) throw w.fail("tokens '" + byId[id] + "' and '" + token + "' both have id " + id);
            if (vocab.put(token, id) != null) throw w.fail("token '" + token + "' appears twice");
            byId[id] = token;
            max = Math.max(max, id);
        }
        if (vocab.isEmpty()) throw w.fail("empty vocabulary");
        t.vocab = vocab;
        t.byId = Arrays.copyOf(byId, max + 1);
    }

    /** {@code model.merges[i] (merge i+1)}. */
    private static Where at(Where merges, int i) {
        return new Where(merges.file(), merges.path() + "[" + i + "] (merge " + (i + 1) + ")");
    }

    private static void merges(Where w, JsonParser p, Tables t) throws IOException {
        String[] a = new String[1 << 12], b = new String[1 << 12];
        int n = 0;
        JsonToken v;
        while ((v = p.nextToken()) != JsonToken.END_ARRAY) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
                b = Arrays.copyOf(b, n * 2);
            }
            if (v == JsonToken.VALUE_STRING) {
                String s = p.getText();
                int sp = s.indexOf(' ');
                if (sp <= 0 || sp == s.length() - 1 || s.indexOf(' ', sp + 1) >= 0) throw at(w, n).fail("not two symbols separated by one space: '" + s + "'");
                a[n] = s.substring(0, sp);
                b[n] = s.substring(sp + 1);
            } else if (v == JsonToken.START_ARRAY && p.nextToken() == JsonToken.VALUE_STRING) {
                a[n] = p.getText();
                if (p.nextToken() != JsonToken.VALUE_STRING) throw at(w, n).fail("a merge is \"a b\" or [\"a\", \"b\"]");
                b[n] = p.getText();
                if (p.nextToken() != JsonToken.END_ARRAY || a[n].isEmpty() || b[n].isEmpty()) throw at(w, n).fail("a merge is \"a b\" or [\"a\", \"b\"] with non-empty symbols");
            } else {
                throw at(w, n).fail("a merge is \"a b\" or [\"a\", \"b\"], not " + (v == JsonToken.START_ARRAY ? "this array" : Where.kind(tree(p))));
            }
            n++;
        }
        t.a = Arrays.copyOf(a, n);
        t.b = Arrays.copyOf(b, n);
    }
}
