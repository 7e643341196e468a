package io.peft4j.spark;

import io.peft4j.core.PeftException;

/**
 * A distributed job that failed: the message names the stage (what the driver or an executor was doing: loading the base
 * model, grouping the examples into micro-batches, computing step 5's gradients, ...) and the cause, ready to show as it is.
 * Training that fails this way has written nothing since its last checkpoint, which stays intact.
 */
public class PeftSparkException extends PeftException {
    private final String stage;

    public PeftSparkException(String stage, String cause, Throwable t) {
        super(stage + ": " + cause, t);
        this.stage = stage;
    }

    /** What was being done when it failed. */
    public String stage() {
        return stage;
    }
}
