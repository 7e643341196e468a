package io.peft4j.demo;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What every method of one demo run gets: the data (how much of it, how it is encoded) and the training budget
 * (steps or epochs, batch size, learning rate per method). Chosen by {@link #choose} from the task's data and a
 * {@link Budget} (the default, about a quarter of an hour on a 2-core machine with BERT-base) or from each
 * method's usual settings ({@code full}: all the data, three epochs). Every trained method gets the same data,
 * length, batch size and steps; only the learning rate is the method's own.
 *
 * <pre>{@code
 * DemoSettings s = DemoSettings.choose(false, DemoSettings.Budget.defaults(), train, dev, DemoTask.builtin("spam").spec(),
 *         tokenizer, 512, 42);
 * List<TextRecord> seen = s.trainSubset(train);      // 128 ham + 128 spam
 * }</pre>
 *
 * @param full           all the data and each method's usual settings, not the budget
 * @param maxLength      tokens per example, special tokens included (the zero-shot template gets {@link #PROMPT_ROOM} more)
 * @param truncation     which end of a long text loses tokens (a pair loses them from its longer text)
 * @param trainExamples  training examples every method sees
 * @param balanced       whether they are a class-balanced sample (the same number of each label)
 * @param devExamples    dev examples every method is scored on (a stratified sample, or the whole dev split)
 * @param batchSize      examples per optimizer step
 * @param steps          optimizer steps per trained method, or 0 to run {@code epochs}
 * @param epochs         passes over the training examples when {@code steps} is 0
 * @param warmupFraction the share of the steps with a linear warm-up (then linear decay to 0)
 * @param virtualTokens  virtual tokens of prompt tuning, P-tuning and prefix tuning
 * @param tfidfFeatures  the bag-of-words baseline's vocabulary: the most frequent words
 * @param learningRates  the peak learning rate of each trained method
 * @param seed           seeds the samples, initialisation and data order
 */
public record DemoSettings(boolean full, int maxLength, Truncation truncation, int trainExamples, boolean balanced, int devExamples,
                           int batchSize, long steps, int epochs, double warmupFraction, int virtualTokens, int tfidfFeatures,
                           Map<String, Double> learningRates, long seed) {
    /** Tokens the zero-shot template may add to {@link #maxLength} (its words, the mask, the punctuation). */
    public static final int PROMPT_ROOM = 16;

    public DemoSettings {
        learningRates = Collections.unmodifiableMap(new LinkedHashMap<>(learningRates));
        if (maxLength <= 0 || trainExamples <= 0 || devExamples <= 0 || batchSize <= 0) throw new IllegalArgumentException("sizes must be positive");
        if (steps <= 0 && epochs <= 0) throw new IllegalArgumentException("steps or epochs must be positive");
    }

    /**
     * The default budget: about 15 minutes for the whole comparison on a 2-core machine with BERT-base on the spam
     * task (see docs/demo.md for the costs it was sized from). Tasks with shorter texts get a shorter
     * {@code maxLength}, and then up to {@code maxScale} times more examples and steps, which cost about the same.
     *
     * @param maxLength     the longest encoding (tokens)
     * @param trainExamples training examples at {@code maxLength}, a class-balanced sample
     * @param devExamples   dev examples at {@code maxLength}, a stratified sample
     * @param steps         optimizer steps per trained method at {@code maxLength}
     * @param batchSize     examples per step
     * @param virtualTokens virtual tokens of the prompt methods
     * @param maxScale      the most the sizes grow for short texts
     * @param fullMaxLength the longest encoding with {@code --full}
     */
    public record Budget(int maxLength, int trainExamples, int devExamples, long steps, int batchSize, int virtualTokens, int maxScale, int fullMaxLength) {
        public Budget {
            if (maxLength <= 0 || trainExamples <= 0 || devExamples <= 0 || steps <= 0 || batchSize <= 0 || virtualTokens <= 0 || maxScale <= 0 || fullMaxLength <= 0) {
                throw new IllegalArgumentException("every budget size must be positive");
            }
        }

        /** 32 tokens, 256 training and 160 dev examples, 32 steps of 8, 20 virtual tokens, up to 4x for short texts; 128 tokens with --full. */
        public static Budget defaults() {
            return new Budget(32, 256, 160, 32, 8, 20, 4, 128);
        }
    }

    /** Learning rates for a few dozen steps: the upper end of each method's usual range (docs/demo.md). */
    static final Map<String, Double> BUDGET_RATES = rates(3e-2, 3e-3, 1e-2, 1e-3, 1e-3, 3e-3, 5e-5);
    /** Each method's usual learning rate for a few epochs (docs/demo.md). */
    static final Map<String, Double> FULL_RATES = rates(3e-2, 1e-3, 1e-2, 5e-4, 5e-4, 3e-3, 2e-5);

    private static Map<String, Double> rates(double prompt, double ptuning, double prefix, double adapter, double lora, double ia3, double full) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("prompt", prompt);
        m.put("ptuning", ptuning);
        m.put("prefix", prefix);
        m.put("adapter", adapter);
        m.put("lora", lora);
        m.put("ia3", ia3);
        m.put("full", full);
        return m;
    }

    /**
     * Chooses the settings for a task's data. The encoding length is the 95th percentile of the training texts'
     * token counts (a seeded sample of at most 512), rounded up to a multiple of 8, at least 16 and at most the
     * budget's (or {@code --full}'s) and what the model's positions leave beside the virtual tokens.
     *
     * @param maxPositions the model's positions
     */
    public static DemoSettings choose(boolean full, Budget budget, List<TextRecord> train, List<TextRecord> dev, DataSpec spec,
                                      Tokenizer tokenizer, int maxPositions, long seed) {
        int cap = full ? budget.fullMaxLength() : budget.maxLength();
        int room = maxPositions - budget.virtualTokens();
        int specials = tokenizer.specialTokenCount(spec.pairs());
        if (room <= specials) {
            throw new PeftException("the model has " + maxPositions + " positions: too few for " + budget.virtualTokens() + " virtual tokens and a text");
        }
        int p95 = percentile95(train, spec, tokenizer, seed);
        int length = Math.min(Math.min(cap, room), Math.max(16, (p95 + 7) / 8 * 8));
        length = Math.max(length, Math.min(room, specials + 1));
        if (full) {
            return new DemoSettings(true, length, Truncation.END, train.size(), false, dev.size(), 16, 0, 3, 0.1, budget.virtualTokens(), 10_000,
                    FULL_RATES, seed);
        }
        int scale = Math.max(1, Math.min(budget.maxScale(), budget.maxLength() / length));
        Map<String, Integer> counts = Labels.counts(train);
        int smallest = Collections.min(counts.values());
        int perLabel = Math.max(1, Math.min(budget.trainExamples() * scale / counts.size(), smallest));
        int devN = Math.min(dev.size(), budget.devExamples() * scale);
        return new DemoSettings(false, length, Truncation.END, perLabel * counts.size(), true, devN, budget.batchSize(), budget.steps() * scale, 0, 0.1,
                budget.virtualTokens(), 10_000, BUDGET_RATES, seed);
    }

    /** The 95th percentile of the encoded lengths (special tokens included) of a seeded sample of at most 512 records. */
    static int percentile95(List<TextRecord> train, DataSpec spec, Tokenizer tokenizer, long seed) {
        List<TextRecord> sample = train.size() <= 512 ? train : Sampling.stratifiedSubset(train, 512, seed);
        List<Integer> lengths = new ArrayList<>();
        for (TextRecord r : sample) {
            int n = tokenizer.specialTokenCount(spec.pairs());
            for (String f : spec.textFields()) n += tokenizer.encodeText(r.field(f)).length;
            lengths.add(n);
        }
        Collections.sort(lengths);
        return lengths.get(Math.min(lengths.size() - 1, (int) Math.ceil(0.95 * lengths.size()) - 1));
    }

    /** The training records every method sees: all of them, or {@link #trainExamples} / labels of each label. */
    public List<TextRecord> trainSubset(List<TextRecord> train) {
        if (!balanced) return train;
        int labels = Labels.counts(train).size();
        return Sampling.kShot(train, trainExamples / labels, seed);
    }

    /** The dev records every method is scored on: all of them, or a stratified sample of {@link #devExamples}. */
    public List<TextRecord> devSubset(List<TextRecord> dev) {
        return devExamples >= dev.size() ? dev : Sampling.stratifiedSubset(dev, devExamples, seed);
    }

    /** The training steps of one trained method on {@code n} examples. */
    public long stepsFor(int n) {
        return steps > 0 ? steps : (long) epochs * ((n + batchSize - 1) / batchSize);
    }

    /** The learning rate of trained method {@code method}. */
    public double learningRate(String method) {
        Double lr = learningRates.get(method);
        if (lr == null) throw new IllegalArgumentException("no learning rate for " + method);
        return lr;
    }

    /** One paragraph saying what was chosen, for the console and results.md. */
    public String describe(int trainAvailable, int devAvailable) {
        StringBuilder b = new StringBuilder();
        b.append(full ? "full settings: " : "default budget (--full for all the data and each method's usual settings): ");
        b.append(String.format(Locale.ROOT, "%s %d of %d training examples, %s %d of %d dev examples; ", balanced ? "a class-balanced sample of" : "all",
                trainExamples, trainAvailable, devExamples < devAvailable ? "a stratified sample of" : "all", devExamples, devAvailable));
        b.append(String.format(Locale.ROOT, "at most %d tokens per example (the end of a longer text cut, a pair cut from its longer text); ", maxLength));
        b.append(steps > 0 ? String.format(Locale.ROOT, "%d steps of %d per trained method", steps, batchSize)
                : String.format(Locale.ROOT, "%d epochs in batches of %d", epochs, batchSize));
        b.append(String.format(Locale.ROOT, ", %.0f%% linear warm-up then linear decay; learning rates ", warmupFraction * 100));
        List<String> lrs = new ArrayList<>();
        learningRates.forEach((m, lr) -> lrs.add(m + " " + String.format(Locale.ROOT, "%.0e", lr)));
        b.append(String.join(", ", lrs));
        b.append(String.format(Locale.ROOT, "; %d virtual tokens; seed %d", virtualTokens, seed));
        return b.toString();
    }
}
