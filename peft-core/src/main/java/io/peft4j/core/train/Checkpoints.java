package io.peft4j.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint directory: the trainable tensors ({@value #PARAMS}), the optimizer's state ({@value #OPTIMIZER},
 * absent for a "best parameters" copy) and the loop's own state as JSON ({@value #STATE}). Written whole or not at all (a
 * temporary sibling, then a rename), so a crash leaves the previous checkpoint intact.
 */
public final class Checkpoints {
    public static final String PARAMS = "trainable.safetensors", OPTIMIZER = "optimizer.safetensors", STATE = "trainer_state.json";

    private Checkpoints() {
    }

    /** Writes {@code params}, {@code optimizer}'s state (unless null) and {@code state} into {@code dir}, replacing it. */
    public static void write(Path dir, Map<String, Tensor> params, Optimizer optimizer, ObjectNode state, long step) {
        AtomicFiles.writeDirectory(dir, tmp -> {
            Map<String, INDArray> p = new LinkedHashMap<>();
            params.forEach((k, v) -> p.put(k, v.value()));
            SafeTensors.write(tmp.resolve(PARAMS), p, Map.of("step", Long.toString(step)));
            if (optimizer != null) SafeTensors.write(tmp.resolve(OPTIMIZER), optimizer.state(), Map.of("step", Long.toString(optimizer.stepCount())));
            Json.write(tmp.resolve(STATE), state);
        });
    }

    /** The loop's state as written. */
    public static JsonNode readState(Path dir) {
        return Json.read(dir.resolve(STATE));
    }

    /**
     * Copies the saved tensors into {@code params}; every one must be there with its shape (faults name the file), and
     * all are checked before any is copied.
     */
    public static void restoreParameters(Path dir, Map<String, Tensor> params) {
        Path pf = dir.resolve(PARAMS);
        Map<String, INDArray> saved = SafeTensors.readAll(pf, params.values().iterator().next().dataType());
        for (var e : params.entrySet()) {
            INDArray v = saved.get(e.getKey());
            if (v == null) throw PeftException.inFile(pf, "no tensor '" + e.getKey() + "': the checkpoint is of another model or method");
            if (!Arrays.equals(v.shape(), e.getValue().shape())) {
                throw PeftException.inFile(pf, "tensor '" + e.getKey() + "' has shape " + Arrays.toString(v.shape()) + ", the model's is "
                        + Arrays.toString(e.getValue().shape()));
            }
        }
        for (var e : params.entrySet()) e.getValue().value().assign(saved.get(e.getKey()));
    }

    /** Restores {@code optimizer}'s state as of {@code step}. */
    public static void restoreOptimizer(Path dir, Map<String, Tensor> params, Optimizer optimizer, long step) {
        optimizer.load(SafeTensors.readAll(dir.resolve(OPTIMIZER), params.values().iterator().next().dataType()), step);
    }
}
