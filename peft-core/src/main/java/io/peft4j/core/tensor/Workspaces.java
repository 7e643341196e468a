package io.peft4j.core.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Where the arrays of a pass live. Three ND4J workspaces, each one reused block of memory instead of
 * freshly mapped pages, whose first touch (page faults, zeroing) costs elementwise ops several times their
 * arithmetic:
 * <ul>
 *   <li>the <b>pass</b> ({@link #run}): what the backward pass needs (saved activations) and each block's
 *       output; freed when the pass ends;</li>
 *   <li>a <b>block</b> ({@link #block}): every other array made while one sublayer (attention or
 *       feed-forward) runs; the next block reuses the same memory, so a forward pass holds one sublayer's
 *       temporaries, not all of them;</li>
 *   <li>the <b>backward scratch</b>: the temporaries and gradients of one block's backward; the next block's
 *       backward reuses it. A gradient that crosses blocks is moved to ordinary memory and freed as soon as
 *       it is consumed.</li>
 * </ul>
 * Gradients of parameters are always kept outside.
 */
public final class Workspaces {
    static final String PASS = "peft4j-pass", BLOCK = "peft4j-block", BACKWARD = "peft4j-backward";

    private static final WorkspaceConfiguration CONFIG = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyAllocation(AllocationPolicy.STRICT)     // the learned size exactly: a larger pass reallocates
            .policySpill(SpillPolicy.REALLOCATE)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();

    /** Scratch sizes vary from node to node: grow to the largest seen. */
    private static final WorkspaceConfiguration SCRATCH = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.OVER_TIME)
            .cyclesBeforeInitialization(1)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.2)
            .policySpill(SpillPolicy.REALLOCATE)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();

    /** The block running on this thread: the tensors it made and the arrays saved out of it. */
    private static final class Block {
        final int id = NEXT_ID.getAndUpdate(i -> i == Integer.MAX_VALUE ? 0 : i + 1);
        final List<Tensor> created = new ArrayList<>();
        final Map<Key, INDArray> saved = new HashMap<>();
    }

    /**
     * One array's identity as memory: views of the same bytes with the same layout are saved once; dense
     * row-major views of the same bytes in any shape share one copy.
     */
    private record Key(long address, long offset, String layout) {
        static Key of(INDArray a) {
            String layout = dense(a) ? "dense " + a.length() : Arrays.toString(a.shape()) + Arrays.toString(a.stride());
            return new Key(a.data().address(), a.offset(), layout);
        }
    }

    private static boolean dense(INDArray a) {
        return a.ordering() == 'c' && a.elementWiseStride() == 1;
    }

    private static final ThreadLocal<Block> CURRENT = new ThreadLocal<>();
    private static final java.util.concurrent.atomic.AtomicInteger NEXT_ID = new java.util.concurrent.atomic.AtomicInteger();

    private Workspaces() {
    }

    /** Runs {@code body} in the thread's pass workspace and returns its arrays detached from it. */
    public static INDArray[] run(Supplier<INDArray[]> body) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, PASS)) {
            INDArray[] out = body.get();
            for (int i = 0; i < out.length; i++) out[i] = out[i] == null ? null : out[i].detach();
            return out;
        }
    }

    /**
     * Runs one block of a model (a transformer sublayer) with its temporaries in scratch memory that the next
     * block reuses. The returned tensor's value and every array a backward closure saved
     * ({@link Tensor#save}) are moved to the pass (or, outside any pass, to ordinary memory); every other
     * tensor made inside is released and may not be read afterwards. A block inside a block is part of it.
     */
    public static Tensor block(Supplier<Tensor> body) {
        if (CURRENT.get() != null) return body.get();
        Block block = new Block();
        CURRENT.set(block);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, BLOCK)) {
            Tensor out = body.get();
            out.relocate(keep(out.rawValue()));
            return out;
        } finally {
            CURRENT.remove();
            for (Tensor t : block.created) if (inBlock(t.rawValue())) t.release();
        }
    }

    /** Scratch memory for the backward of one block (and of what runs between blocks). */
    static MemoryWorkspace backwardScratch() {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, BACKWARD);
    }

    /** Records a new tensor in the running block; returns the block's id, or -1 outside any block. */
    static int created(Tensor t) {
        Block b = CURRENT.get();
        if (b == null) return -1;
        b.created.add(t);
        return b.id;
    }

    static boolean inBackwardScratch(INDArray a) {
        return attachedTo(a, BACKWARD);
    }

    /** {@code a}, or for an array in the current block's scratch memory, its copy outside (made once). */
    static INDArray keep(INDArray a) {
        Block b = CURRENT.get();
        if (b == null || a == null || !inBlock(a)) return a;
        Profiler.Timer t = Profiler.start(Profiler.Kind.ELEMENTWISE, "keep");
        INDArray copy = b.saved.computeIfAbsent(Key.of(a), k -> allocateKept(a.dataType(), a.shape()).assign(a));
        t.stop();
        return Arrays.equals(copy.shape(), a.shape()) ? copy : copy.reshape('c', a.shape());
    }

    /** A new array where {@link #keep} would copy one to: the pass, or ordinary memory outside any pass. */
    static INDArray allocateKept(DataType type, long[] shape) {
        if (CURRENT.get() == null) return Nd4j.createUninitialized(type, shape, 'c');
        if (Nd4j.getWorkspaceManager().checkIfWorkspaceExistsAndActive(PASS)) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(PASS).notifyScopeBorrowed()) {
                return Nd4j.createUninitialized(type, shape, 'c');
            }
        }
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.createUninitialized(type, shape, 'c');
        }
    }

    private static boolean inBlock(INDArray a) {
        return a != null && attachedTo(a, BLOCK);
    }

    private static boolean attachedTo(INDArray a, String workspace) {
        return a.isAttached() && workspace.equals(a.data().getParentWorkspace().getId());
    }
}
