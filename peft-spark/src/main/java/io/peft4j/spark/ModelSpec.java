package io.peft4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.head.Head;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.Precision;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.Methods;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What an executor needs to build the driver's model for itself: the base model's directory (a path every executor can
 * read) and precision, each adapter's {@code adapter_config.json} as the driver's adapter writes it and whether it is
 * active, the head's {@code head_config.json}, and, to check the result against, the driver's base config and the names
 * and shapes of its trainable tensors. No weights: the base comes from the directory, the trainable values from each
 * step's broadcast.
 *
 * @param modelDir      the base model's directory as the executors see it
 * @param compute       the precision's compute type
 * @param storage       the precision's storage type of the weight matrices
 * @param baseTrainable full fine-tuning (the base's weights are trainable and shipped every step)
 * @param adapters      the adapters in installation order
 * @param headJson      the head's config, or null
 * @param headType      the head's parameter type (FLOAT or DOUBLE), or null
 * @param base          the driver's base, described
 * @param names         the trainable tensors' names, in {@link PeftModel#trainableParameters()} order
 * @param shapes        their shapes
 */
record ModelSpec(String modelDir, String compute, String storage, boolean baseTrainable, List<AdapterSpec> adapters, String headJson,
                 String headType, String base, List<String> names, List<long[]> shapes) implements Serializable {

    /** An adapter as the executors rebuild it. */
    record AdapterSpec(String name, String peftType, String configJson, boolean active) implements Serializable {
    }

    /** The spec of {@code model}, whose base the executors load from {@code modelDir}. */
    static ModelSpec of(PeftModel model, Path modelDir) {
        TransformerModel base = model.base();
        DataType compute = base.dataType(), storage = compute;
        for (Tensor t : base.parameters().values()) if (t.dataType() != compute) storage = t.dataType();
        List<AdapterSpec> adapters = new ArrayList<>();
        PeftConfig.BaseInfo info = PeftConfig.BaseInfo.of(base.config(), base.config().modelType());
        for (Adapter a : model.adapters()) {
            if (a.isMerged()) throw new IllegalArgumentException("adapter '" + a.name() + "' is merged into the base: unmerge it to train it");
            ObjectNode cfg = a.config().toJson(info);
            if (a.config().peftType().equals("BOTTLENECK")) cfg.put("name", a.name());
            adapters.add(new AdapterSpec(a.name(), a.config().peftType(), cfg.toString(), a.isActive()));
        }
        Head head = model.head();
        String headJson = head == null ? null : head.toJson().toString();
        String headType = head == null ? null : head.parameters().values().iterator().next().dataType().name();
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        model.trainableParameters().forEach((k, v) -> {
            names.add(k);
            shapes.add(v.shape());
        });
        return new ModelSpec(modelDir.toString(), compute.name(), storage.name(), model.isBaseTrainable(), List.copyOf(adapters), headJson, headType,
                describe(base.config()), List.copyOf(names), List.copyOf(shapes));
    }

    /** What an executor's cache tells models apart by: everything that shapes the model, not the values. */
    String key() {
        StringBuilder b = new StringBuilder(modelDir).append('|').append(compute).append('/').append(storage).append('|').append(baseTrainable);
        for (AdapterSpec a : adapters) b.append('|').append(a.name()).append(a.active() ? "+" : "-").append(a.configJson());
        return b.append('|').append(headJson).append('|').append(headType).toString();
    }

    /** A base config in a line: what must agree between the driver's base and an executor's. */
    static String describe(ModelConfig c) {
        return c.modelType() + " (" + c.layers() + " layers, hidden " + c.hidden() + ", " + c.heads() + " heads, " + c.keyValueHeads()
                + " key/value heads, head size " + c.headDim() + ", feed-forward " + c.intermediate() + ", vocabulary " + c.vocabSize() + ")";
    }

    /** Builds the model on an executor; a fault names the stage, the directory and {@code where} (the executor and partition). */
    PeftModel build(String where) {
        Path dir = Path.of(modelDir);
        TransformerModel base = ExecutorFault.during("loading the base model from " + modelDir + where,
                () -> Models.load(dir, new Precision(DataType.valueOf(compute), DataType.valueOf(storage))));
        String here = describe(base.config());
        if (!here.equals(this.base)) {
            throw new ExecutorFault("checking the executor's base model against the driver's" + where, "the model in " + modelDir + " is a " + here
                    + ", the driver's is a " + this.base + ": give the executors the directory of the driver's model");
        }
        PeftModel m = PeftModel.of(base);
        return ExecutorFault.during("building the driver's adapters and head on the base in " + modelDir + where, () -> {
            if (baseTrainable) m.unfreezeBase();
            for (AdapterSpec a : adapters) {
                JsonNode json = Json.parse("adapter '" + a.name() + "' of the driver", a.configJson());
                PeftMethod method = Methods.forType(a.peftType());
                PeftConfig cfg = method.readConfig(json, Path.of("adapter '" + a.name() + "' of the driver"));
                m.add(a.name(), cfg).setActive(a.active());
            }
            if (headJson != null) m.setHead(Head.read(Json.parse("the driver's head", headJson), Path.of("the driver's head"), DataType.valueOf(headType)));
            checkAgainstDriver(m.trainableParameters());
            return m;
        });
    }

    /** The executor's trainable tensors must be the driver's, by name and shape, in the same order. */
    void checkAgainstDriver(Map<String, Tensor> mine) {
        List<String> here = new ArrayList<>(mine.keySet());
        if (!here.equals(names)) {
            List<String> missing = new ArrayList<>(names), extra = new ArrayList<>(here);
            missing.removeAll(here);
            extra.removeAll(names);
            throw new IllegalStateException("the adapters built from the driver's configs have other trainable tensors than the driver's"
                    + (missing.isEmpty() ? "" : ": missing " + preview(missing)) + (extra.isEmpty() ? "" : ": not on the driver " + preview(extra))
                    + (missing.isEmpty() && extra.isEmpty() ? " (in another order)" : ""));
        }
        for (int i = 0; i < names.size(); i++) {
            long[] s = mine.get(names.get(i)).shape();
            if (!Arrays.equals(s, shapes.get(i))) {
                throw new IllegalStateException("trainable tensor '" + names.get(i) + "' has shape " + Arrays.toString(s) + " here and "
                        + Arrays.toString(shapes.get(i)) + " on the driver: the adapter configs or base models differ");
            }
        }
    }

    private static String preview(List<String> l) {
        return l.size() <= 3 ? l.toString() : l.subList(0, 3) + " and " + (l.size() - 3) + " more";
    }

    /** The number of trainable values. */
    long trainableValues() {
        return shapes.stream().mapToLong(s -> Arrays.stream(s).reduce(1, (x, y) -> x * y)).sum();
    }
}
