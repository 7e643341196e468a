package io.peft4j.core.train;

import io.peft4j.core.PeftException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The training examples as the trainer reads them: how many there are, and each epoch's examples in training order.
 * {@link #of(List, long)} shuffles a list in memory; {@link #streaming} reads an iterator that can be reopened (a file
 * read line by line) and shuffles it through a bounded buffer, so a data set larger than memory trains. Either way the
 * order of epoch {@code e} follows from the seed and {@code e} alone: two runs with one seed see the same examples, and a
 * resumed run skips to where it stopped.
 *
 * @param <E> the example type
 */
public interface ExampleSource<E> {
    /** The number of examples in one epoch. */
    long size();

    /** Epoch {@code epoch}'s examples in training order; each call starts the epoch afresh. */
    Iterator<E> epoch(int epoch);

    /**
     * {@code examples} shuffled in memory: epoch {@code e} is a permutation drawn from {@code (seed, e)}, what
     * {@link Trainer#fit(List, List, Metric)} has always used.
     */
    static <E> ExampleSource<E> of(List<E> examples, long seed) {
        List<E> copy = Collections.unmodifiableList(examples);
        return new ExampleSource<>() {
            @Override
            public long size() {
                return copy.size();
            }

            @Override
            public Iterator<E> epoch(int epoch) {
                int[] order = order(copy.size(), seed, epoch);
                return java.util.Arrays.stream(order).mapToObj(copy::get).iterator();
            }
        };
    }

    /**
     * The order {@link #of(List, long)} trains epoch {@code epoch} of {@code n} examples in: the index of the example at
     * each position, a permutation drawn from {@code (seed, epoch)} alone (as {@link Collections#shuffle(List, Random)}
     * draws it). A data-parallel driver that holds only the examples' indices orders them by this.
     */
    static int[] order(int n, long seed, int epoch) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Random rnd = new Random(seed * 31 + epoch);
        for (int i = n; i > 1; i--) {           // Collections.shuffle's swaps on a random-access list
            int j = rnd.nextInt(i), t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    /**
     * Examples streamed from {@code open} (called once per epoch, and once first to count them), shuffled through a
     * buffer of {@code buffer} examples seeded from {@code (seed, epoch)}: each example waits in the buffer and leaves at
     * a random draw, as {@code tf.data}'s and Hugging Face datasets' streaming shuffle. Memory holds {@code buffer}
     * examples, not the data set. {@code buffer} 1 keeps the file's order. The stream must give the same examples on
     * every opening.
     */
    static <E> ExampleSource<E> streaming(Supplier<Iterator<E>> open, int buffer, long seed) {
        if (buffer < 1) throw new IllegalArgumentException("shuffle buffer must hold at least 1 example, not " + buffer);
        long n = 0;
        for (Iterator<E> it = open.get(); it.hasNext(); it.next()) n++;
        if (n == 0) throw new PeftException("the example stream is empty");
        long size = n;
        return new ExampleSource<>() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public Iterator<E> epoch(int epoch) {
                return new ShuffleBuffer<>(open.get(), buffer, new Random(seed * 31 + epoch));
            }
        };
    }

    /** An iterator that shuffles another through a bounded buffer. */
    final class ShuffleBuffer<E> implements Iterator<E> {
        private final Iterator<E> in;
        private final List<E> buf;
        private final int capacity;
        private final Random rng;

        ShuffleBuffer(Iterator<E> in, int capacity, Random rng) {
            this.in = in;
            this.capacity = capacity;
            this.rng = rng;
            this.buf = new ArrayList<>(Math.min(capacity, 1 << 16));
            while (buf.size() < capacity && in.hasNext()) buf.add(in.next());
        }

        @Override
        public boolean hasNext() {
            return !buf.isEmpty();
        }

        @Override
        public E next() {
            if (buf.isEmpty()) throw new NoSuchElementException();
            int i = rng.nextInt(buf.size());
            E out = buf.get(i);
            if (in.hasNext()) buf.set(i, in.next());
            else {
                buf.set(i, buf.get(buf.size() - 1));
                buf.remove(buf.size() - 1);
            }
            return out;
        }
    }
}
