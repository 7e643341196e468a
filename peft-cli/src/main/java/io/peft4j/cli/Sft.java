package io.peft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.sft.data.InstructionFormat;
import io.peft4j.sft.encode.BuiltinTemplates;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.encode.ConversationEncoder;
import io.peft4j.sft.encode.LengthPolicy;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What the causal-LM commands ({@code train --format}, {@code eval --format}, {@code generate --chat}) share: parsing
 * their options, loading a decoder (refusing an encoder with one line), choosing the chat format, and the
 * {@value #FILE} that {@code train --output} writes beside the adapter.
 */
final class Sft {
    /** The instruction-tuning settings file in an adapter directory; its presence makes {@code eval} evaluate by generation. */
    static final String FILE = "sft.json";
    /** The name {@link ChatFormat} gives the model's own template. */
    static final String MODEL_TEMPLATE = "model";

    private Sft() {
    }

    static InstructionFormat format(String name) {
        InstructionFormat f = InstructionFormat.parse(name);
        if (f == null) throw new PeftException("--format: '" + name + "' is not one of " + InstructionFormat.names());
        return f;
    }

    static LengthPolicy policy(String name) {
        if (name == null) return LengthPolicy.CUT_PROMPT_START;
        // the classifier's words: "end" cuts the end, "start" the start (of the prompt: the response is kept)
        if (name.equalsIgnoreCase("end")) return LengthPolicy.CUT_END;
        if (name.equalsIgnoreCase("start")) return LengthPolicy.CUT_PROMPT_START;
        LengthPolicy p = LengthPolicy.parse(name);
        if (p == null) throw new PeftException("--truncation: '" + name + "' is not cut-prompt-start, cut-end or drop");
        return p;
    }

    static ConversationEncoder.LossOn lossOn(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "responses", "response" -> ConversationEncoder.LossOn.RESPONSES;
            case "all" -> ConversationEncoder.LossOn.ALL;
            default -> throw new PeftException("--loss-on: '" + name + "' is not responses or all");
        };
    }

    static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The model at {@code dir}, refused in one line unless its architecture is a causal decoder. */
    static TransformerModel decoder(Path dir, String what) {
        TransformerModel m = Models.load(dir, DataType.FLOAT);
        if (!m.architecture().decoder()) {
            throw new PeftException(what + " needs a decoder model (a causal language model: GPT-2, Llama, Mistral, Qwen2); " + dir + " holds a "
                    + m.config().modelType() + " encoder (train a classifier on it without --format)");
        }
        return m;
    }

    /**
     * The chat format: {@code name} when given (a built-in, or a named template of the model's); else the model's own
     * template when its {@code tokenizer_config.json} has one; else the built-in {@code raw} for prompt/completion data
     * and {@code instruction} otherwise.
     */
    static ChatFormat chatFormat(Path modelDir, String name, Tokenizer tok, InstructionFormat format) {
        if (name != null && !name.equals(MODEL_TEMPLATE)) return ChatFormat.resolve(modelDir, name, tok);
        if (name != null || hasOwnTemplate(modelDir)) return ChatFormat.resolve(modelDir, null, tok);
        return ChatFormat.builtin(format == InstructionFormat.COMPLETION ? "raw" : "instruction", tok);
    }

    private static boolean hasOwnTemplate(Path modelDir) {
        Path cfg = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(cfg)) return false;
        JsonNode n = Json.read(cfg).get("chat_template");
        return n != null && !n.isNull();
    }

    /**
     * A decoder ready to generate: the base model (its directory and tokenizer) with the adapter of {@code adapterDir}
     * installed when one is given. A directory that holds a whole model ({@code train --format --method full}) is loaded
     * as the model itself.
     */
    record Loaded(Path modelDir, TransformerModel base, Tokenizer tokenizer, PeftModel peft) {
        static Loaded of(String model, Path adapterDir, Settings settings, String what) {
            if (adapterDir != null && !Files.isDirectory(adapterDir)) throw PeftException.inFile(adapterDir, "no such adapter directory");
            boolean wholeModel = adapterDir != null && !Files.isRegularFile(adapterDir.resolve(PeftModel.CONFIG_FILE))
                    && Files.isRegularFile(adapterDir.resolve("config.json"));
            String name = model != null ? model : settings != null ? settings.model() : null;
            Path dir;
            if (wholeModel) {
                dir = adapterDir;
            } else if (name == null) {
                throw new PeftException("--model is required" + (adapterDir == null ? "" : ": " + adapterDir + " does not name its base model (no " + FILE + ")"));
            } else {
                dir = ModelHub.resolve(name);
            }
            TransformerModel base = decoder(dir, what);
            Tokenizer tok = Tokenizers.load(dir);
            PeftModel peft = PeftModel.of(base, name);
            if (adapterDir != null && !wholeModel) peft.load(adapterDir, PeftModel.DEFAULT);
            if (peft.head() != null) throw PeftException.inFile(adapterDir, "has a classification head: evaluate it without --format");
            return new Loaded(dir, base, tok, peft);
        }
    }

    /** Names the built-in templates, for help texts. */
    static String builtins() {
        return String.join(", ", BuiltinTemplates.names());
    }

    /**
     * The settings {@code train --output} recorded, or null when {@code adapterDir} has no {@value #FILE}.
     *
     * @param format       the instruction format of the training data
     * @param chatTemplate the chat format's name ({@value #MODEL_TEMPLATE}: the model's own)
     * @param maxLength    tokens per example
     * @param model        the base model as given to {@code train}
     */
    record Settings(InstructionFormat format, String chatTemplate, int maxLength, String model) {
        static Settings read(Path adapterDir) {
            if (adapterDir == null) return null;
            Path f = adapterDir.resolve(FILE);
            if (!Files.isRegularFile(f)) return null;
            JsonNode o = Json.read(f);
            InstructionFormat format = InstructionFormat.parse(o.path("format").asText(""));
            if (format == null) throw PeftException.inFile(f, "field 'format' is not one of " + InstructionFormat.names());
            String model = o.path("model").isTextual() ? o.get("model").asText() : null;
            return new Settings(format, o.path("chat_template").asText(MODEL_TEMPLATE), o.path("max_length").asInt(512), model);
        }
    }
}
