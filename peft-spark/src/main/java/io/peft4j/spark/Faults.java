package io.peft4j.spark;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Spark's failures as the user reads them: the stage the driver was in, the executor's stage and cause, the attempts made. */
final class Faults {
    private static final Pattern ATTEMPTS = Pattern.compile("failed (\\d+) times");
    private static final String FAULT = ExecutorFault.class.getName() + ": ";

    private Faults() {
    }

    /** {@code failure} (a Spark job's or the driver's own) as a failure of {@code stage}. */
    static PeftSparkException of(String stage, Throwable failure) {
        if (failure instanceof PeftSparkException p) return p;
        String attempts = "";
        Matcher m = ATTEMPTS.matcher(String.valueOf(failure.getMessage()));
        if (m.find()) attempts = " (the task failed " + m.group(1) + " times)";
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof ExecutorFault f) return new PeftSparkException(stage + ", " + f.stage(), f.cause() + attempts, failure);
        }
        String msg = String.valueOf(failure.getMessage());
        int at = msg.indexOf(FAULT);
        if (at >= 0) {                                     // the executor's fault as text in Spark's message
            String line = msg.substring(at + FAULT.length()).lines().findFirst().orElse("");
            return new PeftSparkException(stage, line + attempts, failure);
        }
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String cause = ExecutorFault.describe(root == failure ? failure : root).lines().findFirst().orElse("");
        return new PeftSparkException(stage, cause + attempts, failure);
    }
}
