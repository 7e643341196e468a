package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    private INDArray value;        // moved once, when the block that made it ends (Workspaces.block)
    private boolean released;      // its block's scratch memory was reused: the value is gone
    private boolean requiresGrad;
    private final boolean leaf;
    private final List<Tensor> parents;
    private final Backward backward;
    private final String op;     // the creating op, recorded only while profiling
    private INDArray grad;
    private INDArray gradOwner;    // non-leaves: the ordinary-memory array grad lives in (grad may be a view), else null
    private INDArray gradBuffer;   // a leaf's gradient array, reused from pass to pass
    private boolean gradExclusive; // non-leaves: grad is a dense array no other tensor or closure reads (a sum or product made here)
    private final int block;       // the model block that made this tensor (Workspaces.block), or -1

    /**
     * The state of one backward pass. Each block's backward runs in scratch memory that the next block's
     * reuses; a gradient still pending when its block's region ends is moved to ordinary memory, and that
     * memory goes back to the pass's free list as soon as its node has used it, for the next block's moved
     * gradients. A fresh array for every move cost 20-28 thousand page faults per BERT-base training step.
     */
    private static final class Pass {
        INDArray incoming, incomingOwner;   // the gradient the running node consumes
        boolean taken;                      // a parent took the incoming gradient over
        final List<Tensor> pending = new ArrayList<>();
        final List<INDArray> toRelease = new ArrayList<>();
        final Map<String, Deque<INDArray>> free = new HashMap<>();   // by type and length: "FLOAT 786432"
        final List<INDArray> owned = new ArrayList<>();              // every array the pass allocated

        void evacuate() {
            for (Tensor t : pending) {
                if (t.grad != null && Workspaces.inBackwardScratch(t.grad)) {
                    INDArray owner = take(t.grad.dataType(), t.grad.length());
                    t.grad = owner.reshape('c', t.grad.shape()).assign(t.grad);
                    t.gradOwner = owner;
                    t.gradExclusive = true;
                }
            }
            pending.clear();
        }

        /** A free ordinary-memory vector of {@code type} and {@code length}: reused, or allocated once for the pass. */
        private INDArray take(DataType type, long length) {
            INDArray a = freeList(type, length).poll();
            if (a != null) return a;
            try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                a = Nd4j.createUninitialized(type, new long[]{length}, 'c');
            }
            owned.add(a);
            return a;
        }

        /** Returns the owners of consumed gradients to the free list. */
        void releaseConsumed() {
            for (INDArray a : toRelease) freeList(a.dataType(), a.length()).push(a);
            toRelease.clear();
        }

        private Deque<INDArray> freeList(DataType type, long length) {
            return free.computeIfAbsent(type + " " + length, k -> new ArrayDeque<>());
        }

        /** Frees the pass's ordinary memory; no gradient of the pass is read afterwards. */
        void close() {
            for (INDArray a : owned) a.close();
            owned.clear();
            free.clear();
        }
    }

    private static final ThreadLocal<Pass> PASS = new ThreadLocal<>();

    private Tensor(INDArray value, boolean requiresGrad, boolean leaf, List<Tensor> parents, Backward backward) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.leaf = leaf;
        this.parents = parents;
        this.backward = backward;
        this.op = backward == null ? null : Profiler.opName();
        this.block = Workspaces.created(this);
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

    /**
     * The value. A tensor made inside a {@link Workspaces#block block} and not returned from it has no value
     * after the block ends (its memory is reused): reading it then is an error.
     */
    public INDArray value() {
        if (released) {
            throw new IllegalStateException("tensor " + Arrays.toString(value.shape()) + " was made inside a model block (one"
                    + " sublayer) and used after the block ended, when its memory is reused; compute values shared across"
                    + " layers at the embeddings hook site, or recompute them in each layer (docs/hook-sites.md, Memory)");
        }
        return value;
    }

    /** The value wherever it is, released or not; for the block bookkeeping only. */
    INDArray rawValue() {
        return value;
    }

    void relocate(INDArray moved) {
        value = moved;
    }

    void release() {
        released = true;
    }

    /**
     * The array a backward closure keeps: an array in the current block's scratch memory is copied out (once)
     * so that it outlives the block; any other array is returned as it is.
     */
    static INDArray save(INDArray a) {
        return Workspaces.keep(a);
    }

    /** A new array for an op to fill with something its backward keeps: allocated where kept arrays live, so never copied. */
    static INDArray newSaved(DataType type, long... shape) {
        return Workspaces.allocateKept(type, shape);
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

    /**
     * Allocates this trainable leaf's gradient array now, outside any workspace, instead of during the first
     * backward pass (where it would land among that pass's short-lived arrays and keep the C allocator from
     * returning their memory).
     */
    public void reserveGrad() {
        if (!leaf || !requiresGrad) return;
        if (gradBuffer == null || gradBuffer.dataType() != value.dataType()) {
            try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                gradBuffer = Nd4j.createUninitialized(value.dataType(), value.shape(), 'c');
            }
        }
    }

    /** The accumulated gradient of a trainable leaf, or null before any backward pass. */
    public INDArray grad() {
        return grad;
    }

    /**
     * Sets this trainable leaf's gradient to a copy of {@code g} (null: none), as if a backward pass had computed it: for
     * gradients computed elsewhere, such as a data-parallel driver's sum of its workers' gradients.
     */
    public void setGrad(INDArray g) {
        if (!leaf || !requiresGrad) throw new IllegalStateException("only a trainable leaf has a gradient to set");
        grad = null;
        if (g != null) accumulate(g);
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
            // non-leaf gradients are never modified in place: they may alias each other
            Pass p = PASS.get();
            if (grad == null) {
                if (p != null && p.incomingOwner != null && !g.isAttached() && g.data().address() == p.incoming.data().address()) {
                    if (!p.taken) {       // the consumer's own gradient in ordinary memory, passed on: one owner
                        p.taken = true;
                        grad = g;
                        gradOwner = p.incomingOwner;
                        return;
                    }
                    g = g.dup('c');       // a second parent gets its own copy, in scratch memory
                }
                grad = g;
                gradExclusive = false;
            } else {
                INDArray sum = grad.add(g);
                if (gradOwner != null && p != null) p.toRelease.add(gradOwner);
                gradOwner = null;
                grad = sum;
                gradExclusive = true;
            }
            if (p != null && Workspaces.inBackwardScratch(grad)) p.pending.add(this);
        }
    }

    /**
     * Adds the product {@code op(a)·op(b)} (2-D, its rows the flattened leading dimensions of this tensor) to
     * this tensor's gradient. Where the gradient is already an array of its own (a leaf's, or a sum or product
     * made here), the GEMM adds onto it in place (beta = 1): no product array and no separate add pass. A
     * layer's input that feeds several projections (BERT's query, key and value) gets their input gradients
     * this way.
     */
    void accumulateProduct(INDArray a, INDArray b, boolean ta, boolean tb) {
        if (!requiresGrad) return;
        long rows = ta ? a.size(1) : a.size(0), cols = tb ? b.size(0) : b.size(1);
        if (rows * cols != value.length() || value.size(value.rank() - 1) != cols) {
            throw new IllegalStateException("gradient product [" + rows + ", " + cols + "] does not match value shape "
                    + Arrays.toString(value.shape()));
        }
        INDArray target = leaf || gradExclusive ? grad : null;
        if (target != null && target.ordering() == 'c' && target.elementWiseStride() == 1 && MatrixOps.gemmInto(a, b, target.reshape('c', rows, cols), ta, tb, 1.0)) {
            return;
        }
        INDArray product = MatrixOps.mm(a, b, ta, tb).reshape('c', value.shape());
        boolean fresh = !leaf && grad == null;
        accumulate(product);
        if (fresh) gradExclusive = true;      // the product array is this tensor's alone
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
        Pass p = new Pass();
        PASS.set(p);
        MemoryWorkspace scratch = null;
        int region = 0;
        try {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                if (t.leaf || t.grad == null) continue;
                if (scratch == null || t.block != region) {    // a new block: its backward reuses the scratch
                    if (scratch != null) {
                        p.evacuate();
                        scratch.close();
                    }
                    scratch = Workspaces.backwardScratch();
                    region = t.block;
                }
                p.incoming = t.grad;
                p.incomingOwner = t.gradOwner;
                p.taken = false;
                t.grad = null;          // intermediate gradients are not kept
                t.gradOwner = null;
                t.gradExclusive = false;
                if (Profiler.enabled()) {
                    long t0 = System.nanoTime();
                    t.backward.apply(p.incoming);
                    Profiler.backward(t.op, System.nanoTime() - t0);
                } else {
                    t.backward.apply(p.incoming);
                }
                if (p.incomingOwner != null && !p.taken) p.toRelease.add(p.incomingOwner);
                p.releaseConsumed();
            }
            p.close();      // after a failure, the garbage collector frees them instead: a tensor may still point there
        } finally {
            if (scratch != null) scratch.close();
            PASS.remove();
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
