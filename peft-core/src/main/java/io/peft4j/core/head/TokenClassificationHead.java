package io.peft4j.core.head;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
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
        Tensor logits = Ops.linearT(Ops.reshape(h, b * real, d), weight, bias);
        return Ops.reshape(logits, b, real, labels.size());
    }

    @Override
    public Map<String, Tensor> parameters() {
        return Head.classifier(weight, bias);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("head_type", "token_classification");
        Head.putLabels(n, weight.size(1), labels, dropout);
        return n;
    }

    static TokenClassificationHead fromJson(JsonNode json, Path file, DataType type) {
        long hidden = Head.hiddenSize(json, file);
        List<String> labels = Head.labels(json, file);
        return new TokenClassificationHead(labels, hidden, Head.dropout(json, file), type, 0);
    }
}
