package io.peft4j.spark;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * An epoch's examples cut into the micro-batches the single-process trainer makes: example {@code i} sits at position
 * {@code p} of the epoch's order ({@code ExampleSource.order}), so it belongs to step {@code p / perStep} of the epoch and
 * to micro-batch {@code (p mod perStep) / batchSize} of that step, at offset {@code p mod perStep} in the step. Micro-batch
 * {@code m} of every step goes to partition {@code m mod partitions}.
 */
final class MicroBatches {
    private MicroBatches() {
    }

    /** Micro-batch {@code mb} of optimizer step {@code step} (0-based, counted over the run). */
    record Key(long step, int mb) implements Serializable {
    }

    /** Micro-batch {@code m} of each step on partition {@code m mod n}. */
    static final class ByIndex extends Partitioner {
        private final int n;

        ByIndex(int n) {
            this.n = n;
        }

        @Override
        public int numPartitions() {
            return n;
        }

        @Override
        public int getPartition(Object key) {
            return ((Key) key).mb() % n;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ByIndex b && b.n == n;
        }

        @Override
        public int hashCode() {
            return n;
        }
    }

    /** Keys each indexed example by its micro-batch, with its offset in the step; examples of steps outside [from, to) are left out. */
    static final class Keying<E> implements PairFlatMapFunction<Tuple2<Long, E>, Key, Tuple2<Integer, E>> {
        private final Broadcast<int[]> positions;
        private final long epochStart, from, to;
        private final int perStep, batchSize;

        Keying(Broadcast<int[]> positions, long epochStart, long from, long to, int perStep, int batchSize) {
            this.positions = positions;
            this.epochStart = epochStart;
            this.from = from;
            this.to = to;
            this.perStep = perStep;
            this.batchSize = batchSize;
        }

        @Override
        public Iterator<Tuple2<Key, Tuple2<Integer, E>>> call(Tuple2<Long, E> t) {
            int p = positions.value()[(int) (long) t._1()];
            long step = epochStart + p / perStep;
            if (step < from || step >= to) return Collections.emptyIterator();
            int within = p % perStep;
            return Collections.singletonList(new Tuple2<>(new Key(step, within / batchSize), new Tuple2<>(within, t._2()))).iterator();
        }
    }

    /** A micro-batch's examples in step order. */
    static final class InOrder<E> implements Function<Iterable<Tuple2<Integer, E>>, List<E>> {
        @Override
        public List<E> call(Iterable<Tuple2<Integer, E>> examples) {
            List<Tuple2<Integer, E>> l = new ArrayList<>();
            examples.forEach(l::add);
            l.sort(Comparator.comparing(Tuple2::_1));
            List<E> out = new ArrayList<>(l.size());
            for (Tuple2<Integer, E> t : l) out.add(t._2());
            return out;
        }
    }
}
