package io.peft4j.spark;

/**
 * What an executor throws when a task fails: the stage it was in (on which executor) and the cause's message. It crosses
 * the network to the driver as the task's failure, where {@link SparkTrainer} reports it as a {@link PeftSparkException}.
 */
final class ExecutorFault extends RuntimeException {
    private final String stage;

    ExecutorFault(String stage, Throwable cause) {
        super(stage + ": " + describe(cause), cause);
        this.stage = stage;
    }

    ExecutorFault(String stage, String message) {
        super(stage + ": " + message);
        this.stage = stage;
    }

    String stage() {
        return stage;
    }

    /** The message without the stage. */
    String cause() {
        String m = getMessage();
        return m.substring(stage.length() + 2);
    }

    /** A throwable as a user reads it: its message (with its class when that says more, as for a NullPointerException). */
    static String describe(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) return t.getClass().getName();
        return t instanceof io.peft4j.core.PeftException || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                ? m : t.getClass().getName() + ": " + m;
    }

    /** Runs {@code body}, a fault of it reported as a failure of {@code stage}. */
    static <T> T during(String stage, java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (ExecutorFault f) {
            throw f;
        } catch (RuntimeException | LinkageError e) {
            throw new ExecutorFault(stage, e);
        }
    }
}
