package io.peft4j.serve;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A batch listener that records every batch and, when armed, holds the worker after the next batch until released:
 * requests submitted meanwhile are queued together, so the next batch deterministically holds all of them.
 */
final class Gate implements InferenceService.BatchListener {
    record Batch(String kind, int requests, int rows) {
    }

    final List<Batch> batches = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch entered = new CountDownLatch(0), release = new CountDownLatch(0);
    private volatile boolean armed;

    /** Holds the worker after its next batch. */
    void arm() {
        entered = new CountDownLatch(1);
        release = new CountDownLatch(1);
        armed = true;
    }

    /** Waits until the worker is held. */
    void awaitHeld() {
        try {
            if (!entered.await(2, TimeUnit.MINUTES)) throw new IllegalStateException("the worker never finished a batch");
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    void release() {
        release.countDown();
    }

    @Override
    public void batch(String kind, int requests, int rows) {
        batches.add(new Batch(kind, requests, rows));
        if (armed) {
            armed = false;
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The most requests any batch held. */
    int largestBatch() {
        return batches.stream().mapToInt(Batch::requests).max().orElse(0);
    }
}
