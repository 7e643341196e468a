package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * A value in the computation graph: an ND4J array, and, when it depends on a trainable parameter, the
 * backward function that turns its gradient into its parents' gradients.
 *
 * <p>This is a minimal tape-free reverse-mode autodiff: every op in {@link Ops} records a backward
 * closure only if one of its inputs {@link #requiresGrad()}. A frozen weight therefore never receives a
 * gradient and never costs one: a frozen linear layer's backward computes {@code dX = dY·Wᵀ} only.
 */
public final class Tensor {
    /** Pushes the gradient of this tensor into its parents (via {@link Tensor#accumulate}). */
    @FunctionalInterface
    public interface Backward {
        void apply(INDArray gradOut);
    }

    private final INDArray value;
    private boolean requiresGrad;
    private final boolean leaf;
    private final List<Tensor> parents;
    private final Backward backward;
    private final String op;     // the creating op, recorded only while profiling
    private INDArray grad;
    private INDArray gradBuffer;   // a leaf's gradient array, reused from pass to pass

    private Tensor(INDArray value, boolean requiresGrad, boolean leaf, List<Tensor> parents, Backward backward) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.leaf = leaf;
        this.parents = parents;
        this.backward = backward;
        this.op = backward == null ? null : Profiler.opName();
    }

    /** A value that never gets a gradient (inputs, masks, frozen weights). */
    public static Tensor constant(INDArray value) {
        return new Tensor(value, false, true, List.of(), null);
    }

    /** A trainable leaf: gradients are accumulated into {@link #grad()} outside any workspace. */
    public static Tensor parameter(INDArray value) {
        return new Tensor(value, true, true, List.of(), null);
    }

    /** The result of an op; it requires a gradient iff one of its parents does. */
    static Tensor result(INDArray value, Backward backward, Tensor... parents) {
        for (Tensor p : parents) {
            if (p != null && p.requiresGrad) {
                List<Tensor> ps = new ArrayList<>(parents.length);
                for (Tensor q : parents) if (q != null && q.requiresGrad) ps.add(q);
                return new Tensor(value, true, false, ps, backward);
            }
        }
        return new Tensor(value, false, true, List.of(), null);
    }

    public INDArray value() {
        return value;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * Makes a leaf trainable or frozen. Full fine-tuning unfreezes a base model's weights this way; a
     * frozen leaf's gradient is dropped.
     */
    public void setTrainable(boolean trainable) {
        if (!leaf) throw new IllegalStateException("only leaves (weights, parameters) can be made trainable");
        requiresGrad = trainable;
        if (!trainable) {
            grad = null;
            gradBuffer = null;
        }
    }

    /** The accumulated gradient of a trainable leaf, or null before any backward pass. */
    public INDArray grad() {
        return grad;
    }

    /** Forgets the gradient; a leaf keeps its array to fill again on the next backward pass. */
    public void zeroGrad() {
        grad = null;
    }

    public long[] shape() {
        return value.shape();
    }

    public long size(int dim) {
        return value.size(dim);
    }

    public int rank() {
        return value.rank();
    }

    public DataType dataType() {
        return value.dataType();
    }

    /** Adds {@code g} to this tensor's gradient. Leaves keep theirs outside any workspace. */
    void accumulate(INDArray g) {
        if (!requiresGrad) return;
        if (!Arrays.equals(g.shape(), value.shape())) {
            throw new IllegalStateException("gradient shape " + Arrays.toString(g.shape())
                    + " does not match value shape " + Arrays.toString(value.shape()));
        }
        if (leaf) {
            if (grad == null) {
                if (gradBuffer == null || gradBuffer.dataType() != g.dataType()) {
                    try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                        gradBuffer = Nd4j.createUninitialized(g.dataType(), value.shape(), 'c');
                    }
                }
                grad = gradBuffer.assign(g);
            } else {
                grad.addi(g);
            }
        } else {
            grad = grad == null ? g : grad.add(g);
        }
    }

    /** Back-propagates from this scalar (seed 1). */
    public void backward() {
        if (value.length() != 1) throw new IllegalStateException("backward() needs a scalar; use backward(seed)");
        backward(Nd4j.onesLike(value));
    }

    /** Back-propagates {@code seed} (the gradient of some objective with respect to this tensor). */
    public void backward(INDArray seed) {
        if (!requiresGrad) throw new IllegalStateException("this tensor does not depend on any trainable parameter");
        List<Tensor> order = topologicalOrder();
        accumulate(seed);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (t.leaf || t.grad == null) continue;
            INDArray g = t.grad;
            t.grad = null; // intermediate gradients are not kept
            if (Profiler.enabled()) {
                long t0 = System.nanoTime();
                t.backward.apply(g);
                Profiler.backward(t.op, System.nanoTime() - t0);
            } else {
                t.backward.apply(g);
            }
        }
    }

    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            if (next < t.parents.size()) {
                top[1] = next + 1;
                Tensor p = t.parents.get(next);
                if (seen.add(p)) stack.push(new Object[]{p, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(value.shape()) + (requiresGrad ? " (grad)" : "");
    }
}
