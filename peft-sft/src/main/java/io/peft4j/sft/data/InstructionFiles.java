package io.peft4j.sft.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.Utf8Lines;
import io.peft4j.core.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads instruction data in JSON lines ({@link InstructionFormat}) into {@link Conversation}s, as the project's other
 * data readers do: strict UTF-8, blank lines skipped, one {@link PeftException} naming the file, the line and the
 * field for the first fault (not JSON, not an object, a duplicate key, a required field missing or not a string, a
 * message without a role), and an error for a file with no examples.
 *
 * <pre>{@code
 * List<Conversation> train = InstructionFiles.read(Path.of("alpaca.jsonl"), InstructionFormat.ALPACA);
 * }</pre>
 */
public final class InstructionFiles {
    private static final ObjectReader READER = Json.MAPPER.reader().with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private InstructionFiles() {
    }

    /** Reads {@code file}. */
    public static List<Conversation> read(Path file, InstructionFormat format) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString(), format);
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(file, "no such file");
        } catch (IOException e) {
            throw PeftException.inFile(file, "cannot read: " + e.getMessage());
        }
    }

    /** Reads {@code in}; errors name {@code source}. */
    public static List<Conversation> read(InputStream in, String source, InstructionFormat format) {
        List<Conversation> out = new ArrayList<>();
        try (Utf8Lines lines = new Utf8Lines(in, source)) {
            String line;
            while ((line = lines.next()) != null) {
                if (line.isBlank()) continue;
                out.add(parse(line, format, source, lines.lineNumber()));
            }
        } catch (IOException e) {
            throw PeftException.inFile(source, "cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) throw PeftException.inFile(source, "no examples");
        return out;
    }

    /** One line of {@code format}; faults name {@code source} and {@code line}. */
    public static Conversation parse(String text, InstructionFormat format, String source, long line) {
        Fields f = new Fields(source, line);
        JsonNode o;
        try {
            o = READER.readTree(text);
        } catch (JsonProcessingException e) {
            throw f.fault("not JSON (" + e.getOriginalMessage().lines().findFirst().orElse("").replaceAll("\\s*\\(start marker at .*", "") + ")");
        } catch (IOException e) {
            throw f.fault("not JSON (" + e.getMessage() + ")");
        }
        if (o == null || !o.isObject()) {
            throw f.fault("not a JSON object (" + kind(o) + ")" + (o != null && o.isArray() ? "; the file must hold one JSON object per line, not an array" : ""));
        }
        String task = f.optional(o, "task");
        List<Message> messages = new ArrayList<>();
        switch (format) {
            case ALPACA -> {
                String system = f.optional(o, "system");
                String instruction = f.required(o, "instruction");
                if (instruction.isBlank()) throw f.fault("field 'instruction' is empty");
                String input = f.optional(o, "input");
                String output = f.required(o, "output");
                if (system != null && !system.isEmpty()) messages.add(Message.system(system));
                messages.add(Message.user(input == null || input.isEmpty() ? instruction : instruction + "\n\n" + input));
                messages.add(Message.assistant(output));
            }
            case COMPLETION -> {
                messages.add(Message.user(f.required(o, "prompt")));
                messages.add(Message.assistant(f.required(o, "completion")));
            }
            case CHAT -> {
                JsonNode ms = o.get("messages");
                if (ms == null) throw f.fault("field 'messages' is missing (format chat: {\"messages\": [{\"role\": ..., \"content\": ...}, ...]})");
                if (!ms.isArray()) throw f.fault("field 'messages' is " + kind(ms) + ", not an array");
                if (ms.isEmpty()) throw f.fault("field 'messages' is empty");
                for (int i = 0; i < ms.size(); i++) {
                    JsonNode m = ms.get(i);
                    String at = "messages[" + i + "]";
                    if (!m.isObject()) throw f.fault("field '" + at + "' is " + kind(m) + ", not an object with role and content");
                    String role = f.required(m, at + ".role", "role");
                    if (role.isBlank()) throw f.fault("field '" + at + ".role' is empty");
                    messages.add(new Message(role, f.required(m, at + ".content", "content")));
                }
            }
            default -> throw new IllegalStateException(format.toString());
        }
        return new Conversation(messages, task, source, line);
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isNull()) return "null";
        if (n.isArray()) return "an array";
        return "an object";
    }

    /** Field access with errors naming the source and line. */
    private record Fields(String source, long line) {
        PeftException fault(String what) {
            return PeftException.inFile(source, "line " + line + ": " + what);
        }

        String required(JsonNode o, String name) {
            return required(o, name, name);
        }

        String required(JsonNode o, String shown, String name) {
            JsonNode v = o.get(name);
            if (v == null) throw fault("field '" + shown + "' is missing");
            if (!v.isTextual()) throw fault("field '" + shown + "' is " + kind(v) + ", not a string");
            return v.asText();
        }

        String optional(JsonNode o, String name) {
            JsonNode v = o.get(name);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) throw fault("field '" + name + "' is " + kind(v) + ", not a string");
            return v.asText();
        }
    }
}
