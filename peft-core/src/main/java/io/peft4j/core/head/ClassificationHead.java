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
import java.util.List;
import java.util.Map;

/**
 * Sequence classification or regression: pool, dropout (training only), then
 * {@code logits = pooled·Wᵀ + b} with W {@code [labels, hidden]} as PyTorch's classifier stores it.
 * Regression is one output trained with mean squared error.
 */
public final class ClassificationHead implements Head {
    private final Pooling pooling;
    private final List<String> labels;
    private final boolean regression;
    private final double dropout;
    private final Tensor weight, bias;

    /**
     * @param labels  label names in id order (one name for regression)
     * @param seed    initialises W ~ N(0, 0.02²), b = 0 (BERT's initializer_range)
     */
    public ClassificationHead(Pooling pooling, List<String> labels, boolean regression, long hidden, double dropout, DataType type, long seed) {
        if (labels.isEmpty()) throw new IllegalArgumentException("a classification head needs at least one label");
        if (regression && labels.size() != 1) throw new IllegalArgumentException("a regression head has one output, not " + labels.size());
        this.pooling = pooling;
        this.labels = List.copyOf(labels);
        this.regression = regression;
        this.dropout = dropout;
        this.weight = Tensor.parameter(Init.normal(seed, 0.02, type, labels.size(), hidden));
        this.bias = Tensor.parameter(Init.zeros(type, labels.size()));
    }

    public static ClassificationHead classification(Pooling pooling, List<String> labels, long hidden, DataType type, long seed) {
        return new ClassificationHead(pooling, labels, false, hidden, 0.1, type, seed);
    }

    public static ClassificationHead regression(Pooling pooling, long hidden, DataType type, long seed) {
        return new ClassificationHead(pooling, List.of("score"), true, hidden, 0.1, type, seed);
    }

    public Pooling pooling() {
        return pooling;
    }

    public List<String> labels() {
        return labels;
    }

    public boolean isRegression() {
        return regression;
    }

    @Override
    public Tensor apply(ModelOutput out, ForwardContext ctx) {
        Tensor pooled = pooling.pool(out);
        if (ctx.training()) pooled = Ops.dropout(pooled, dropout, ctx.seed() ^ 0x5eedL);
        return Ops.linearT(pooled, weight, bias);
    }

    @Override
    public Map<String, Tensor> parameters() {
        return Head.classifier(weight, bias);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("head_type", regression ? "regression" : "classification");
        n.put("pooling", pooling.name().toLowerCase());
        Head.putLabels(n, weight.size(1), labels, dropout);
        return n;
    }

    static ClassificationHead fromJson(JsonNode json, Path file, DataType type) {
        boolean regression = json.path("head_type").asText().equals("regression");
        Pooling pooling;
        try {
            pooling = Pooling.valueOf(json.path("pooling").asText("cls").toUpperCase());
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(file, "pooling '" + json.path("pooling").asText() + "' is not one of cls, mean, last");
        }
        long hidden = Head.hiddenSize(json, file);
        List<String> labels = Head.labels(json, file);
        return new ClassificationHead(pooling, labels, regression, hidden, Head.dropout(json, file), type, 0);
    }
}
