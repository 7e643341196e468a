package io.peft4j.core.train;

/** Learning-rate schedules: linear warm-up from 0, then constant, linear decay to 0, or cosine decay to 0. */
public enum Schedule {
    CONSTANT, LINEAR, COSINE;

    /** The factor on the peak learning rate at {@code step} (0-based) of {@code total}. */
    public double factor(long step, long warmup, long total) {
        if (step < warmup) return (double) (step + 1) / Math.max(1, warmup);   // first step already learns
        if (this == CONSTANT) return 1;
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        progress = Math.min(1, progress);
        return this == LINEAR ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
