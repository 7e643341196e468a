package io.peft4j.core.head;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A trainable task head on the base model's output, trained alongside any method (or alone: a probe).
 * Saved beside an adapter as {@code head_config.json} + {@code head.safetensors}.
 */
public interface Head {
    /** The most labels a saved head may declare (more than any classification or token-labelling task has). */
    int MAX_LABELS = 1 << 20;

    /** Task logits from the model output: {@code [B, labels]} (sequence heads) or {@code [B, T, labels]} (token heads). */
    Tensor apply(ModelOutput out, ForwardContext ctx);

    /** Trainable tensors under their file keys ({@code classifier.weight} [labels, hidden], {@code classifier.bias}). */
    Map<String, Tensor> parameters();

    /** The {@code head_config.json} content. */
    ObjectNode toJson();

    /** Reads a head saved by {@link #toJson} and the parameters; errors name the file and field. */
    static Head read(JsonNode json, Path file, DataType type) {
        String kind = json.path("head_type").asText("");
        return switch (kind) {
            case "classification", "regression" -> ClassificationHead.fromJson(json, file, type);
            case "token_classification" -> TokenClassificationHead.fromJson(json, file, type);
            default -> throw PeftException.inFile(file, "head_type '" + kind + "' is not one of classification, regression, token_classification");
        };
    }

    /** The classifier tensors both heads have, under PyTorch's names. */
    static Map<String, Tensor> classifier(Tensor weight, Tensor bias) {
        Map<String, Tensor> m = new java.util.LinkedHashMap<>();
        m.put("classifier.weight", weight);
        m.put("classifier.bias", bias);
        return m;
    }

    /** Writes {@code hidden_size}, {@code num_labels}, {@code dropout} and {@code id2label} into a head config. */
    static void putLabels(ObjectNode n, long hidden, List<String> labels, double dropout) {
        n.put("hidden_size", hidden);
        n.put("num_labels", labels.size());
        n.put("dropout", dropout);
        ObjectNode id2label = n.putObject("id2label");
        for (int i = 0; i < labels.size(); i++) id2label.put(Integer.toString(i), labels.get(i));
    }

    /** The hidden size a head config records; errors name the file. */
    static long hiddenSize(JsonNode json, Path file) {
        JsonNode h = json.path("hidden_size");
        if (!h.isIntegralNumber() || !h.canConvertToInt() || h.asInt() <= 0) throw PeftException.inFile(file, "field 'hidden_size' is missing or not a positive integer");
        return h.asInt();
    }

    /** The dropout a head config records (0.1 when absent); errors name the file. */
    static double dropout(JsonNode json, Path file) {
        JsonNode d = json.get("dropout");
        if (d == null || d.isNull()) return 0.1;
        if (!d.isNumber() || !(d.asDouble() >= 0 && d.asDouble() < 1)) throw PeftException.inFile(file, "field 'dropout' must be a number in [0, 1), not " + d);
        return d.asDouble();
    }

    /** The label names a head config records ({@code LABEL_i} where {@code id2label} has none). */
    static List<String> labels(JsonNode json, Path file) {
        JsonNode num = json.path("num_labels");
        if (!num.isIntegralNumber() || !num.canConvertToInt() || num.asInt() <= 0) throw PeftException.inFile(file, "field 'num_labels' is missing or not a positive integer");
        int n = num.asInt();
        if (n > MAX_LABELS) throw PeftException.inFile(file, "field 'num_labels' is " + n + ", more than a head may have (" + MAX_LABELS + ")");
        List<String> labels = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) labels.add(json.path("id2label").path(Integer.toString(i)).asText("LABEL_" + i));
        return labels;
    }

    /** Copies saved tensors in, checking names and shapes. */
    default void load(Map<String, INDArray> tensors, Path file) {
        for (var e : parameters().entrySet()) {
            INDArray v = tensors.get(e.getKey());
            if (v == null) throw PeftException.inFile(file, "missing tensor '" + e.getKey() + "'");
            if (!java.util.Arrays.equals(v.shape(), e.getValue().shape())) {
                throw PeftException.inFile(file, "tensor '" + e.getKey() + "' has shape " + java.util.Arrays.toString(v.shape())
                        + " but the head needs " + java.util.Arrays.toString(e.getValue().shape()));
            }
            e.getValue().value().assign(v.castTo(e.getValue().dataType()));
        }
        for (String k : tensors.keySet()) {
            if (!parameters().containsKey(k)) throw PeftException.inFile(file, "unexpected tensor '" + k + "' for this head");
        }
    }
}
