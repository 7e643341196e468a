package io.peft4j.instruct;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.data.Mixture;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an instruction-tuning {@link Study} runs. The defaults are sized for BERT-base on a 2-core machine (see
 * {@code docs/instruction-tuning.md}: every cluster held out in turn, the three schemes, the base model and the
 * supervised upper bound in about 3.5 hours on an idle 2-core machine); every one is fixed in advance, none tuned on the
 * dev sets.
 *
 * <pre>{@code
 * StudyConfig cfg = StudyConfig.builder().holdout("spam").schemes(List.of(Scheme.PROMPT, Scheme.HYPER)).steps(200).build();
 * }</pre>
 *
 * @param schemes           the schemes to compare
 * @param holdout           {@value #ALL} (each cluster held out in turn) or a task's name (its cluster is held out)
 * @param method            the template scheme's PEFT method, also the supervised upper bound's
 * @param prefix            the prefix scheme's module
 * @param hyper             the hypernetwork scheme's module
 * @param trainInstructions sentence-style phrasings per task trained on (the first ones of its file); the rest and the
 *                          other forms are only tested on
 * @param steps             optimizer steps per training run
 * @param batchSize         examples per step
 * @param learningRate      peak learning rate of the template and hypernetwork schemes and of the upper bound (10% linear
 *                          warm-up, then linear decay)
 * @param prefixLearningRate the prefix scheme's peak learning rate (prefix tuning is usually trained an order of
 *                          magnitude faster than LoRA: Hugging Face PEFT's prefix-tuning examples use 1e-2)
 * @param maxLength         tokens per rendered example, special tokens included
 * @param examplesPerTask   training records per task the examples are drawn from (a stratified sample)
 * @param devExamples       dev records per task scored when it is held out (and for the base model and the upper bound)
 * @param seenDevExamples   dev records per task scored when it was trained on
 * @param mixingCap         the mixture's cap K ({@link Mixture})
 * @param temperature       the mixture's temperature T
 * @param base              whether to score the base model (zero-shot, the same instructions)
 * @param supervised        whether to train the supervised upper bound: the method on each held-out task alone
 * @param evalBatchSize     examples per forward pass when scoring
 * @param seed              seeds the samples, the draws, the initialisation and the data order
 */
public record StudyConfig(List<Scheme> schemes, String holdout, PeftConfig method, InstructionPrefixConfig prefix, HyperLoraConfig hyper,
                          int trainInstructions, int steps, int batchSize, double learningRate, double prefixLearningRate, int maxLength, int examplesPerTask,
                          int devExamples, int seenDevExamples, int mixingCap, double temperature, boolean base, boolean supervised,
                          int evalBatchSize, long seed) {
    /** {@link #holdout} value: hold out every cluster in turn. */
    public static final String ALL = "all";
    /** The defaults (see the class comment), as constants for option descriptions. */
    public static final int DEFAULT_STEPS = 80, DEFAULT_BATCH_SIZE = 8, DEFAULT_MAX_LENGTH = 96, DEFAULT_EXAMPLES_PER_TASK = 256,
            DEFAULT_DEV_EXAMPLES = 100, DEFAULT_SEEN_DEV_EXAMPLES = 40, DEFAULT_TRAIN_INSTRUCTIONS = 2;
    /** The default learning rates (template and hypernetwork schemes, upper bound; prefix scheme). */
    public static final double DEFAULT_LEARNING_RATE = 1e-3, DEFAULT_PREFIX_LEARNING_RATE = 1e-2;
    /** The default seed. */
    public static final long DEFAULT_SEED = 42;

    public StudyConfig {
        schemes = List.copyOf(schemes);
        if (schemes.isEmpty() && !base && !supervised) throw new IllegalArgumentException("nothing to run: no scheme, no base model, no upper bound");
        if (schemes.stream().distinct().count() != schemes.size()) throw new IllegalArgumentException("a scheme is named twice: " + schemes);
        if (holdout == null || holdout.isBlank()) throw new IllegalArgumentException("holdout must be 'all' or a task");
        positive("trainInstructions", trainInstructions);
        positive("steps", steps);
        positive("batchSize", batchSize);
        positive("maxLength", maxLength);
        positive("examplesPerTask", examplesPerTask);
        positive("devExamples", devExamples);
        positive("seenDevExamples", seenDevExamples);
        positive("mixingCap", mixingCap);
        positive("evalBatchSize", evalBatchSize);
        if (!(learningRate > 0)) throw new IllegalArgumentException("learning rate must be positive, not " + learningRate);
        if (!(prefixLearningRate > 0)) throw new IllegalArgumentException("prefix learning rate must be positive, not " + prefixLearningRate);
        if (!(temperature > 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be positive and finite, not " + temperature);
    }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " must be positive, not " + v);
    }

    /** The peak learning rate of {@code scheme}'s runs. */
    public double learningRate(Scheme scheme) {
        return scheme == Scheme.PREFIX ? prefixLearningRate : learningRate;
    }

    /** The defaults; see the class comment. */
    public static StudyConfig defaults() {
        return builder().build();
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.schemes = schemes;
        b.holdout = holdout;
        b.method = method;
        b.prefix = prefix;
        b.hyper = hyper;
        b.trainInstructions = trainInstructions;
        b.steps = steps;
        b.batchSize = batchSize;
        b.learningRate = learningRate;
        b.prefixLearningRate = prefixLearningRate;
        b.maxLength = maxLength;
        b.examplesPerTask = examplesPerTask;
        b.devExamples = devExamples;
        b.seenDevExamples = seenDevExamples;
        b.mixingCap = mixingCap;
        b.temperature = temperature;
        b.base = base;
        b.supervised = supervised;
        b.evalBatchSize = evalBatchSize;
        b.seed = seed;
        return b;
    }

    /** The settings as a JSON-ready map (for the results). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemes", schemes.stream().map(Scheme::key).toList());
        m.put("holdout", holdout);
        m.put("method", method == null ? null : describe(method));
        m.put("prefix", "P " + prefix.numVirtualTokens() + ", k " + prefix.encoderHiddenSize());
        m.put("hyper", "r " + hyper.r() + ", alpha " + fmt(hyper.alpha()) + ", k " + hyper.hiddenSize()
                + (hyper.targetModules() == null ? "" : ", targets " + String.join(",", hyper.targetModules())));
        m.put("train_instructions", trainInstructions);
        m.put("steps", steps);
        m.put("batch_size", batchSize);
        m.put("learning_rate", learningRate);
        m.put("prefix_learning_rate", prefixLearningRate);
        m.put("max_length", maxLength);
        m.put("examples_per_task", examplesPerTask);
        m.put("dev_examples", devExamples);
        m.put("seen_dev_examples", seenDevExamples);
        m.put("mixing_cap", mixingCap);
        m.put("temperature", temperature);
        m.put("base", base);
        m.put("supervised", supervised);
        m.put("seed", seed);
        return m;
    }

    private static String describe(PeftConfig c) {
        if (c instanceof LoraConfig l) {
            return "LoRA r " + l.r() + ", alpha " + fmt(l.alpha()) + (l.targetModules() == null ? "" : ", targets " + String.join(",", l.targetModules()));
        }
        return c.peftType().toLowerCase(java.util.Locale.ROOT);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /** Options of a {@link StudyConfig}; unset ones keep their defaults. */
    public static final class Builder {
        private List<Scheme> schemes = List.of(Scheme.values());
        private String holdout = ALL;
        private PeftConfig method = LoraConfig.defaults().withR(8).withAlpha(16);
        private InstructionPrefixConfig prefix = InstructionPrefixConfig.defaults();
        private HyperLoraConfig hyper = HyperLoraConfig.defaults();
        private int trainInstructions = DEFAULT_TRAIN_INSTRUCTIONS;
        private int steps = DEFAULT_STEPS;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private double learningRate = DEFAULT_LEARNING_RATE;
        private double prefixLearningRate = DEFAULT_PREFIX_LEARNING_RATE;
        private int maxLength = DEFAULT_MAX_LENGTH;
        private int examplesPerTask = DEFAULT_EXAMPLES_PER_TASK;
        private int devExamples = DEFAULT_DEV_EXAMPLES;
        private int seenDevExamples = DEFAULT_SEEN_DEV_EXAMPLES;
        private int mixingCap = Mixture.FLAN_CAP;
        private double temperature = 1.0;
        private boolean base = true;
        private boolean supervised = true;
        private int evalBatchSize = 16;
        private long seed = DEFAULT_SEED;

        private Builder() {
        }

        /** Sets {@link StudyConfig#schemes()}. */
        public Builder schemes(List<Scheme> v) {
            schemes = v;
            return this;
        }

        /** Sets {@link StudyConfig#holdout()}. */
        public Builder holdout(String v) {
            holdout = v;
            return this;
        }

        /** Sets {@link StudyConfig#method()}. */
        public Builder method(PeftConfig v) {
            method = v;
            return this;
        }

        /** Sets {@link StudyConfig#prefix()}. */
        public Builder prefix(InstructionPrefixConfig v) {
            prefix = v;
            return this;
        }

        /** Sets {@link StudyConfig#hyper()}. */
        public Builder hyper(HyperLoraConfig v) {
            hyper = v;
            return this;
        }

        /** Sets {@link StudyConfig#trainInstructions()}. */
        public Builder trainInstructions(int v) {
            trainInstructions = v;
            return this;
        }

        /** Sets {@link StudyConfig#steps()}. */
        public Builder steps(int v) {
            steps = v;
            return this;
        }

        /** Sets {@link StudyConfig#batchSize()}. */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Sets {@link StudyConfig#learningRate()}. */
        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        /** Sets {@link StudyConfig#prefixLearningRate()}. */
        public Builder prefixLearningRate(double v) {
            prefixLearningRate = v;
            return this;
        }

        /** Sets {@link StudyConfig#maxLength()}. */
        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        /** Sets {@link StudyConfig#examplesPerTask()}. */
        public Builder examplesPerTask(int v) {
            examplesPerTask = v;
            return this;
        }

        /** Sets {@link StudyConfig#devExamples()}. */
        public Builder devExamples(int v) {
            devExamples = v;
            return this;
        }

        /** Sets {@link StudyConfig#seenDevExamples()}. */
        public Builder seenDevExamples(int v) {
            seenDevExamples = v;
            return this;
        }

        /** Sets {@link StudyConfig#mixingCap()}. */
        public Builder mixingCap(int v) {
            mixingCap = v;
            return this;
        }

        /** Sets {@link StudyConfig#temperature()}. */
        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        /** Sets {@link StudyConfig#base()}. */
        public Builder base(boolean v) {
            base = v;
            return this;
        }

        /** Sets {@link StudyConfig#supervised()}. */
        public Builder supervised(boolean v) {
            supervised = v;
            return this;
        }

        /** Sets {@link StudyConfig#evalBatchSize()}. */
        public Builder evalBatchSize(int v) {
            evalBatchSize = v;
            return this;
        }

        /** Sets {@link StudyConfig#seed()}. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** The config; invalid values are an {@link IllegalArgumentException} naming the setting. */
        public StudyConfig build() {
            return new StudyConfig(schemes, holdout, method, prefix, hyper, trainInstructions, steps, batchSize, learningRate, prefixLearningRate, maxLength,
                    examplesPerTask, devExamples, seenDevExamples, mixingCap, temperature, base, supervised, evalBatchSize, seed);
        }
    }
}
