package io.peft4j.instruct.encoding;

import java.util.List;

/**
 * The {@link io.peft4j.core.hooks.ForwardContext} attachment that tells instruction-conditioned modules (an
 * instruction prefix, a hypernetwork) which instruction each row of the pass follows: row r follows
 * {@code instructions().get(rows()[r])}, or none when {@code rows()[r]} is -1 (such a row computes as the base model).
 * Without the attachment those modules do nothing.
 *
 * <pre>{@code
 * ForwardContext ctx = ForwardContext.inference(2).with(InstructionBatch.class, new InstructionBatch(List.of(enc), new int[]{0, 0}));
 * }</pre>
 *
 * @param instructions the distinct instructions of the pass
 * @param rows         per row, the index of its instruction, or -1
 */
public record InstructionBatch(List<InstructionEncoding> instructions, int[] rows) {
    public InstructionBatch {
        instructions = List.copyOf(instructions);
        rows = rows.clone();
        for (int r : rows) {
            if (r < -1 || r >= instructions.size()) throw new IllegalArgumentException("row instruction " + r + " outside [-1, " + instructions.size() + ")");
        }
    }

    /** Whether any row follows an instruction. */
    public boolean any() {
        for (int r : rows) if (r >= 0) return true;
        return false;
    }

    /** One flag per row: whether it follows an instruction; null when every row does. */
    public boolean[] flags() {
        boolean all = true;
        boolean[] f = new boolean[rows.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = rows[i] >= 0;
            all &= f[i];
        }
        return all ? null : f;
    }

    /** The rows' instruction indexes with -1 replaced by 0 (for gathers whose result the row masks out). */
    public int[] gatherIndex() {
        int[] g = rows.clone();
        for (int i = 0; i < g.length; i++) if (g[i] < 0) g[i] = 0;
        return g;
    }

    /** The instructions' embeddings as rows of a {@code [U, d]} matrix. */
    public org.nd4j.linalg.api.ndarray.INDArray means() {
        org.nd4j.linalg.api.ndarray.INDArray[] m = new org.nd4j.linalg.api.ndarray.INDArray[instructions.size()];
        for (int i = 0; i < m.length; i++) m[i] = instructions.get(i).mean().reshape(1, instructions.get(i).dim());
        return org.nd4j.linalg.factory.Nd4j.concat(0, m);
    }
}
