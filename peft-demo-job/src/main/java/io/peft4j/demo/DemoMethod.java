package io.peft4j.demo;

/**
 * One line of the comparison: a baseline, the frozen model used as it is, or a way of adapting it. Implementations
 * are in {@link DemoMethods}; each returns its {@link Row} (without the peak memory and fingerprint, which the
 * runner adds).
 *
 * <pre>{@code
 * DemoMethod lora = DemoMethods.byName("lora");
 * Row row = lora.run(context);
 * }</pre>
 */
public interface DemoMethod {
    /** The name {@code --methods} takes ({@code lora}). */
    String name();

    /** The name in tables and on the chart ({@code LoRA}). */
    String title();

    /** What the method trains, in words, under {@code settings}. */
    String trains(DemoSettings settings);

    /** Whether the method runs the model (the baselines do not). */
    boolean usesModel();

    /** Runs the method: trains what it trains on {@code ctx.train()} and scores on {@code ctx.dev()}. */
    Row run(DemoContext ctx);
}
