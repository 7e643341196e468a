package io.peft4j.core.model;

import io.peft4j.core.hooks.Hooks;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collections;
import java.util.Map;

/**
 * What every model file shares: its config, compute type, hook sites and frozen weights as {@link Weights} collected
 * them. A model's constructor takes every weight from its {@code Weights}, declares its hook sites on {@link #hooks},
 * then calls {@link #seal} once.
 */
abstract class FrozenTransformer implements TransformerModel {
    protected final ModelConfig cfg;
    protected final DataType type;
    protected final Hooks hooks = new Hooks();
    private Map<String, Tensor> params;
    private Map<String, Weights.Candidate> huggingFaceForms;
    private long parameterCount;

    protected FrozenTransformer(ModelConfig cfg, DataType type) {
        this.cfg = cfg;
        this.type = type;
    }

    /** Keeps the weights {@code w} handed out, with their Hugging Face forms; the end of a model's constructor. */
    protected final void seal(Weights w) {
        if (params != null) throw new IllegalStateException("sealed twice");
        params = Collections.unmodifiableMap(w.params());
        huggingFaceForms = Map.copyOf(w.huggingFaceForms());
        parameterCount = w.count();
    }

    @Override
    public final ModelConfig config() {
        return cfg;
    }

    @Override
    public final Hooks hooks() {
        return hooks;
    }

    @Override
    public final Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public final Map<String, INDArray> huggingFaceStateDict() {
        return Weights.huggingFaceStateDict(params, huggingFaceForms);
    }

    @Override
    public final long parameterCount() {
        return parameterCount;
    }

    @Override
    public final DataType dataType() {
        return type;
    }
}
