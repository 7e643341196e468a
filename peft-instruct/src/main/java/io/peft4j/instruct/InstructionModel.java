package io.peft4j.instruct;

import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Objective;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.instruct.encoding.InstructionBatch;
import io.peft4j.instruct.encoding.InstructionEncoder;
import io.peft4j.instruct.encoding.InstructionEncoding;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A model that follows instructions by one of the three {@link Scheme}s, behind one interface: train it on examples
 * of many tasks, each under one of its task's instructions, then score any task under any instruction, including
 * tasks and instructions it never saw. Every scheme answers at the template's {@code {mask}} with the instruction's
 * label words (PET's loss over the class scores in training).
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(bert, "bert-base-uncased");
 * try (InstructionModel im = InstructionModel.create(Scheme.HYPER, model, tokenizer, HyperLoraConfig.defaults(), 96, 42)) {
 *     im.train(examples, TrainingConfig.defaults().withMaxSteps(200), listener);
 *     ClassificationReport r = im.evaluate(heldOutInstruction, heldOutDev, 16);
 * }   // closing removes the scheme's module from the model
 * }</pre>
 *
 * <p>The scheme's trainable module is installed on the model as the adapter {@value #ADAPTER}: for {@link Scheme#PROMPT}
 * any PEFT method's config (LoRA, IA3, a bottleneck adapter, prompt or prefix tuning), for {@link Scheme#PREFIX} an
 * {@link InstructionPrefixConfig}, for {@link Scheme#HYPER} a {@link HyperLoraConfig}. {@link #base} installs nothing:
 * the frozen model with the instructions as templates (zero-shot).
 */
public final class InstructionModel implements AutoCloseable {
    /** The name of the scheme's adapter on the model. */
    public static final String ADAPTER = "instruct";

    private final Scheme scheme;
    private final PeftModel model;
    private final Tokenizer tokenizer;
    private final int maxLength;
    private final Adapter adapter;
    private final Map<String, PromptClassifier> classifiers = new HashMap<>();
    private final Map<String, InstructionEncoding> encodings = new HashMap<>();
    private Consumer<List<InstructExample>> observer = b -> {
    };

    private InstructionModel(Scheme scheme, PeftModel model, Tokenizer tokenizer, int maxLength, Adapter adapter) {
        if (maxLength < 1) throw new IllegalArgumentException("max length must be positive, not " + maxLength);
        this.scheme = scheme;
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.adapter = adapter;
    }

    /** The frozen model with each instruction as the template (zero-shot); nothing is installed or trainable. */
    public static InstructionModel base(PeftModel model, Tokenizer tokenizer, int maxLength) {
        return new InstructionModel(Scheme.PROMPT, model, tokenizer, maxLength, null);
    }

    /**
     * Installs {@code scheme}'s module, from {@code config} (see the class comment for which config each scheme takes),
     * as the adapter {@value #ADAPTER}, initialised from {@code seed}; rendered inputs are at most {@code maxLength}
     * tokens, special tokens included.
     */
    public static InstructionModel create(Scheme scheme, PeftModel model, Tokenizer tokenizer, PeftConfig config, int maxLength, long seed) {
        switch (scheme) {
            case PREFIX -> {
                if (!(config instanceof InstructionPrefixConfig)) throw new IllegalArgumentException("the prefix scheme takes an InstructionPrefixConfig, not " + config);
            }
            case HYPER -> {
                if (!(config instanceof HyperLoraConfig)) throw new IllegalArgumentException("the hypernetwork scheme takes a HyperLoraConfig, not " + config);
            }
            case PROMPT -> {
                if (config == null || config instanceof InstructionPrefixConfig || config instanceof HyperLoraConfig) {
                    throw new IllegalArgumentException("the template scheme takes a PEFT method's config (LoRA, IA3, ...), not " + config);
                }
            }
        }
        if (model.adapters().stream().anyMatch(a -> a.name().equals(ADAPTER))) {
            throw new IllegalStateException("the model already has an adapter '" + ADAPTER + "': close the other InstructionModel first");
        }
        return new InstructionModel(scheme, model, tokenizer, maxLength, model.add(ADAPTER, config, seed));
    }

    /** The scheme. */
    public Scheme scheme() {
        return scheme;
    }

    /** The model. */
    public PeftModel model() {
        return model;
    }

    /** The scheme's module on the model, or null for {@link #base}. */
    public Adapter adapter() {
        return adapter;
    }

    /** The number of trainable parameters (0 for {@link #base}). */
    public long trainableParameters() {
        return adapter == null ? 0 : adapter.parameterCount();
    }

    /** Lets {@code observer} see every training micro-batch (what the model was trained on, example by example). */
    public void observe(Consumer<List<InstructExample>> observer) {
        this.observer = observer;
    }

    /**
     * The classifier an instruction is scored with: its template ({@link Scheme#PROMPT}) or its carrier (the other
     * schemes: the input alone, the instruction arriving through the prefix or the generated adapter), and its label words.
     */
    public PromptClassifier classifier(Instruction instruction) {
        return classifiers.computeIfAbsent(instruction.id(), k -> PromptClassifier.builder(model, tokenizer,
                        scheme == Scheme.PROMPT ? instruction.template() : instruction.carrier())
                .verbalizer(instruction.verbalizer()).maxLength(maxLength).build());
    }

    /** The frozen model's encoding of the instruction's text (computed once; not used by {@link Scheme#PROMPT}). */
    public InstructionEncoding encoding(Instruction instruction) {
        return encodings.computeIfAbsent(instruction.id(), k -> InstructionEncoder.encode(model.base(), tokenizer, instruction.text()));
    }

    /** Encodes the instructions the conditioned schemes need, outside any forward pass: call before {@link #objective()} runs. */
    public void prepare(Collection<Instruction> instructions) {
        for (Instruction i : instructions) {
            classifier(i);
            if (scheme != Scheme.PROMPT) encoding(i);
        }
    }

    /** {@code ctx} with each row's instruction attached, for the conditioned schemes; {@code ctx} itself for the template scheme. */
    private ForwardContext conditioned(ForwardContext ctx, List<Instruction> rowInstructions) {
        if (scheme == Scheme.PROMPT) return ctx;
        Map<String, Integer> index = new LinkedHashMap<>();
        List<InstructionEncoding> distinct = new ArrayList<>();
        int[] rows = new int[rowInstructions.size()];
        for (int r = 0; r < rows.length; r++) {
            Instruction i = rowInstructions.get(r);
            InstructionEncoding e = encodings.get(i.id());
            if (e == null) throw new IllegalStateException("instruction " + i.id() + " was not prepared (InstructionModel.prepare) before the pass");
            rows[r] = index.computeIfAbsent(i.id(), k -> {
                distinct.add(e);
                return distinct.size() - 1;
            });
        }
        return ctx.with(InstructionBatch.class, new InstructionBatch(distinct, rows));
    }

    /**
     * The training loss: the mean cross-entropy of each example's class scores (its instruction's label words at the
     * mask) against its label, over a batch that mixes tasks and instructions. The instructions must be
     * {@link #prepare prepared}.
     */
    public Objective<InstructExample> objective() {
        return (m, batch, ctx) -> {
            if (m != model) throw new IllegalArgumentException("the objective is for another model than the one trained");
            observer.accept(List.copyOf(batch));
            List<PromptClassifier.Row> rows = new ArrayList<>(batch.size());
            List<Instruction> instructions = new ArrayList<>(batch.size());
            int[] labels = new int[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                InstructExample e = batch.get(i);
                rows.add(new PromptClassifier.Row(classifier(e.instruction()), e.record(), null));
                instructions.add(e.instruction());
                labels[i] = e.label();
            }
            return Ops.crossEntropy(PromptClassifier.scores(rows, conditioned(ctx, instructions)).values(), labels, Integer.MIN_VALUE);
        };
    }

    /** Trains the scheme's module on {@code examples} with {@code cfg} (no dev set: nothing is tuned on it). */
    public TrainingResult train(List<InstructExample> examples, TrainingConfig cfg, TrainingListener... listeners) {
        if (adapter == null) throw new IllegalStateException("the base model has nothing to train");
        prepare(examples.stream().map(InstructExample::instruction).toList());
        Trainer<InstructExample> trainer = new Trainer<>(model, objective(), cfg);
        for (TrainingListener l : listeners) trainer.addListener(l);
        return trainer.fit(examples, null, null);
    }

    /** Raw class scores {@code [N, C]} of {@code records} under {@code instruction} (its label order), in batches. */
    public double[][] classScores(Instruction instruction, List<Map<String, String>> records, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, not " + batchSize);
        prepare(List.of(instruction));
        PromptClassifier clf = classifier(instruction);
        double[][] out = new double[records.size()][];
        for (int s = 0; s < records.size(); s += batchSize) {
            List<Map<String, String>> part = records.subList(s, Math.min(records.size(), s + batchSize));
            List<PromptClassifier.Row> rows = part.stream().map(r -> new PromptClassifier.Row(clf, r, null)).toList();
            ForwardContext ctx = conditioned(ForwardContext.inference(part.size()), java.util.Collections.nCopies(part.size(), instruction));
            INDArray v = Workspaces.run(() -> new INDArray[]{PromptClassifier.scores(rows, ctx).values().value()})[0];
            for (int i = 0; i < part.size(); i++) out[s + i] = v.getRow(i).toDoubleVector();
        }
        return out;
    }

    /** Accuracy, macro-F1 and the rest of {@code records} (labelled) under {@code instruction}. */
    public ClassificationReport evaluate(Instruction instruction, List<TextRecord> records, int batchSize) {
        List<String> labels = instruction.verbalizer().labels();
        int[] gold = TextClassifier.goldIndices(records, labels);
        double[][] scores = classScores(instruction, records.stream().map(TextRecord::fields).toList(), batchSize);
        return ClassificationReport.of(labels, gold, TextClassifier.argmax(scores));
    }

    /** Removes the scheme's module from the model. */
    @Override
    public void close() {
        if (adapter != null && model.adapters().contains(adapter)) model.remove(ADAPTER);
    }
}
