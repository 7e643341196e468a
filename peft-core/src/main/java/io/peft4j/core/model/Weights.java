package io.peft4j.core.model;

import io.peft4j.core.PeftException;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a model's weights from a checkpoint under any of the names a format may use, transposes linear
 * weights into the {@code [in, out]} orientation the models compute with, checks shapes, and records each
 * as a frozen parameter under its canonical (Hugging Face, prefix-free) name.
 */
final class Weights {
    /** A stored name for a canonical weight, and whether it is stored {@code [out, in]}. */
    record Candidate(String name, boolean transposed) {
    }

    private final Checkpoint checkpoint;
    private final DataType type, storage;
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Candidate> huggingFaceForms = new LinkedHashMap<>();
    private long count;

    /** Weights read from {@code checkpoint}: matrices as {@code precision.storage()}, vectors as {@code precision.compute()}. */
    Weights(Checkpoint checkpoint, Precision precision) {
        this.checkpoint = checkpoint;
        this.type = precision.compute();
        this.storage = precision.storage();
    }

    /** The weights of {@code checkpoint} (null: shapes only, {@link #forShapesOnly}). */
    static Weights of(Checkpoint checkpoint, Precision precision) {
        return checkpoint == null ? forShapesOnly() : new Weights(checkpoint, precision);
    }

    /**
     * Weights that load nothing: every {@link #get} returns null and only counts the shape. A model built
     * on them has its hook sites and parameter count but cannot run ({@link Models#describe}).
     */
    static Weights forShapesOnly() {
        return new Weights(null, Precision.of(DataType.FLOAT));
    }

    boolean shapesOnly() {
        return checkpoint == null;
    }

    Map<String, Tensor> params() {
        return params;
    }

    /**
     * For every loaded weight, its Hugging Face form: the key and orientation of the first candidate, which
     * each model lists as the name a Hugging Face checkpoint of its architecture uses.
     */
    Map<String, Candidate> huggingFaceForms() {
        return huggingFaceForms;
    }

    /**
     * The weights as a Hugging Face checkpoint stores them: under their {@link #huggingFaceForms} keys,
     * linears transposed back to {@code [out, in]} where the format keeps them so. Reads the tensors' current
     * values (after full fine-tuning, the trained ones).
     */
    static Map<String, INDArray> huggingFaceStateDict(Map<String, Tensor> params, Map<String, Candidate> forms) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        params.forEach((canonical, t) -> {
            Candidate c = forms.get(canonical);
            INDArray v = t.value();
            out.put(c.name(), c.transposed() && v.rank() == 2 ? v.transpose().dup('c') : v);
        });
        return out;
    }

    /** Elements of every weight requested so far (each canonical name once). */
    long count() {
        return count;
    }

    /** Whether the checkpoint holds one of the candidates; a shapes-only build assumes it does. */
    boolean has(List<Candidate> candidates) {
        if (checkpoint == null) return true;
        return candidates.stream().anyMatch(c -> checkpoint.names().contains(c.name()));
    }

    /** Loads the first candidate present; {@code shape} is the expected model-side shape. */
    Tensor get(String canonical, List<Candidate> candidates, long... shape) {
        if (checkpoint == null) {
            count += Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            return null;
        }
        for (Candidate c : candidates) {
            if (!checkpoint.names().contains(c.name())) continue;
            long[] stored = checkpoint.shape(c.name());
            long[] want = c.transposed() && shape.length == 2 ? new long[]{shape[1], shape[0]} : shape;
            if (!Arrays.equals(stored, want)) {
                throw PeftException.inFile(checkpoint.fileOf(c.name()), "tensor '" + c.name() + "' has shape " + Arrays.toString(stored)
                        + " but the config implies " + Arrays.toString(want));
            }
            INDArray v = checkpoint.load(c.name(), shape.length >= 2 ? storage : type);     // matrices may be kept narrower
            if (c.transposed() && shape.length == 2) {
                INDArray asStored = v;
                v = asStored.transpose().dup('c');
                if (asStored.closeable()) asStored.close();       // now, not when a GC gets round to it
            }
            Tensor t = Tensor.constant(v);
            if (params.put(canonical, t) == null) count += v.length();
            huggingFaceForms.put(canonical, candidates.get(0));
            return t;
        }
        throw PeftException.inFile(checkpoint.path(), "missing tensor '" + candidates.get(0).name() + "' (looked for "
                + candidates.stream().map(Candidate::name).toList() + ")");
    }
}
