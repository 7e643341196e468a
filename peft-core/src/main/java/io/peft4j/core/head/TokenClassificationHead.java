package io.peft4j.core.head;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Token classification: a label per real token, {@code [B, T, labels]} (virtual tokens dropped). */
public final class TokenClassificationHead implements Head {
    private final List<String> labels;
    private final double dropout;
    private final Tensor weight, bias;

    public TokenClassificationHead(List<String> labels, long hidden, double dropout, DataType type, long seed) {
        if (labels.isEmpty()) throw new IllegalArgumentException("a token classification head needs at least one label");
        this.labels = List.copyOf(labels);
        this.dropout = dropout;
        this.weight = Tensor.parameter(Init.normal(seed, 0.02, type, labels.size(), hidden));
        this.bias = Tensor.parameter(Init.zeros(type, labels.size()));
    }

    public List<String> labels() {
        return labels;
    }

    @Override
    public Tensor apply(ModelOutput out, ForwardContext ctx) {
        Tensor h = out.hidden();
        long b = h.size(0), t = h.size(1), d = h.size(2);
        int v = out.virtualTokens();
        if (v > 0) h = Ops.narrow(h, 1, v, t - v);
        long real = t - v;
        if (ctx.training()) h = Ops.dropout(h, dropout, ctx.seed() ^ 0x70c3L);
        Tensor logits = Ops.add(Ops.matmul(Ops.reshape(h, b * real, d), weight, false, true), bias);
        return Ops.reshape(logits, b, real, labels.size());
    }

    @Override
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("classifier.weight", weight);
        m.put("classifier.bias", bias);
        return m;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("head_type", "token_classification");
        n.put("hidden_size", weight.size(1));
        n.put("num_labels", labels.size());
        n.put("dropout", dropout);
        ObjectNode id2label = n.putObject("id2label");
        for (int i = 0; i < labels.size(); i++) id2label.put(Integer.toString(i), labels.get(i));
        return n;
    }

    static TokenClassificationHead fromJson(JsonNode json, Path file, DataType type) {
        long hidden = json.path("hidden_size").asLong(-1);
        if (hidden <= 0) throw PeftException.inFile(file, "field 'hidden_size' is missing or not positive");
        int n = json.path("num_labels").asInt(-1);
        if (n <= 0) throw PeftException.inFile(file, "field 'num_labels' is missing or not positive");
        List<String> labels = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) labels.add(json.path("id2label").path(Integer.toString(i)).asText("LABEL_" + i));
        return new TokenClassificationHead(labels, hidden, json.path("dropout").asDouble(0.1), type, 0);
    }
}
