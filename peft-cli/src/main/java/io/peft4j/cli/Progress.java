package io.peft4j.cli;

import io.peft4j.core.train.TrainingListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Option;

import java.util.Locale;

/** A progress bar with ETA on stderr, or nothing when it is off. */
final class Progress implements AutoCloseable {
    /** {@code --progress} / {@code --no-progress}: a bar on stderr (default: when the console is a terminal). */
    static final class Switch {
        @Option(names = "--progress", negatable = true, description = "Progress bars with ETA on stderr (default: when run on a terminal).")
        Boolean progress;

        boolean on() {
            return progress != null ? progress : System.console() != null;
        }
    }

    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar for {@code total} units of {@code task} (shown only when {@code on}). */
    static Progress start(String task, long total, boolean on) {
        return new Progress(on ? new ProgressBarBuilder().setTaskName(task).setInitialMax(Math.max(total, 1)).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).showSpeed().build() : null);
    }

    void step(long n) {
        if (bar != null) bar.stepBy(n);
    }

    void stepTo(long n) {
        if (bar != null) bar.stepTo(n);
    }

    /** Moves the bar to {@code done} of {@code total}. */
    void update(long done, long total) {
        if (bar == null) return;
        bar.maxHint(Math.max(total, 1));
        bar.stepTo(done);
    }

    /** A training listener that moves this bar to each step and shows the loss and learning rate. */
    TrainingListener training() {
        return new TrainingListener() {
            @Override
            public void onStep(TrainingListener.Progress p) {
                if (bar == null) return;
                bar.maxHint(p.totalSteps());
                bar.stepTo(p.step());
                bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e", p.loss(), p.learningRate()));
            }
        };
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
