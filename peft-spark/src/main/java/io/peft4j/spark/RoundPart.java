package io.peft4j.spark;

import java.io.Serializable;

/**
 * What one partition returns for a round of local steps, and the driver's sum of them: its parameter values and AdamW
 * moments after the round, per step of the round the sum of its micro-batches' losses and how many it ran, and how many
 * partitions the sum covers.
 */
record RoundPart(FlatTensors values, FlatTensors m, FlatTensors v, double[] lossSums, int[] microBatches, int partitions) implements Serializable {
    RoundPart plus(RoundPart o) {
        double[] l = lossSums.clone();
        int[] n = microBatches.clone();
        for (int i = 0; i < l.length; i++) {
            l[i] += o.lossSums[i];
            n[i] += o.microBatches[i];
        }
        return new RoundPart(values.plus(o.values), m.plus(o.m), v.plus(o.v), l, n, partitions + o.partitions);
    }
}
