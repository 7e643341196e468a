package io.peft4j.prompt.classify;

import io.peft4j.core.PeftException;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Metric;
import io.peft4j.core.train.Objective;
import io.peft4j.prompt.soft.SoftTokenSlots;
import io.peft4j.prompt.soft.SoftTokensConfig;
import io.peft4j.prompt.template.AnswerMode;
import io.peft4j.prompt.template.Rendered;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.template.TemplateEncoder;
import io.peft4j.prompt.verbalizer.Calibration;
import io.peft4j.prompt.verbalizer.LabelWords;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prompt-based classification with a {@link PeftModel}: a {@link Template} renders each record, the model runs
 * once, and the classes are scored at the answer position ({@link AnswerMode}) by a {@link Verbalizer}, or by
 * the model's {@link ClassificationHead} (at the answer position or pooled over the sequence, {@link HeadInput}).
 * Works with any installed method and with none (zero-shot); the LM head runs at the answer positions only.
 *
 * <p>Rows of one batch may use different classifiers (templates, verbalizers) and different adapters (row tags):
 * {@link #scores(List, ForwardContext)}. Training is {@link #objective()}: cross-entropy over the class scores
 * (PET's loss), with {@link io.peft4j.core.train.Trainer}.
 *
 * <pre>{@code
 * PromptClassifier clf = PromptClassifier.of(model, tokenizer, Template.parse("{text}. It was {mask}."),
 *         Verbalizer.parse("positive=great;negative=terrible"));
 * int[] predicted = clf.predict(List.of(Map.of("text", "wonderful")), 32);   // index into clf.labels()
 * }</pre>
 */
public final class PromptClassifier implements io.peft4j.core.classify.TextClassifier {
    /** The adapter name a template's soft tokens get unless {@link Builder#softTokens} names another. */
    public static final String SOFT_TOKENS = "soft_tokens";
    /** The score of a class a row does not have, in a batch whose rows have different numbers of classes. */
    public static final double ABSENT_CLASS = -1e9;

    /** What a classification head reads when a template feeds it instead of a verbalizer. */
    public enum HeadInput {
        /** The hidden state at the answer position (the mask; a decoder's last prompt token). */
        MASK,
        /** The whole sequence, pooled as the head pools (e.g. CLS). */
        SEQUENCE
    }

    private final PeftModel model;
    private final TemplateEncoder encoder;
    private final LabelWords words;
    private final HeadInput headInput;
    private final List<String> labels;
    private final String softAdapter;
    private final Calibration calibration;
    private final ClassificationHead ownHead;       // null: the model's head

    private PromptClassifier(PeftModel model, TemplateEncoder encoder, LabelWords words, HeadInput headInput, List<String> labels,
                             String softAdapter, Calibration calibration, ClassificationHead ownHead) {
        this.model = model;
        this.ownHead = ownHead;
        this.encoder = encoder;
        this.words = words;
        this.headInput = headInput;
        this.labels = List.copyOf(labels);
        this.softAdapter = softAdapter;
        this.calibration = calibration;
    }

    /** A template and a verbalizer on {@code model}, with the defaults of {@link Builder}. */
    public static PromptClassifier of(PeftModel model, Tokenizer tokenizer, Template template, Verbalizer verbalizer) {
        return builder(model, tokenizer, template).verbalizer(verbalizer).build();
    }

    /** Options for a classifier of {@code template} on {@code model}; see {@link Builder}. */
    public static Builder builder(PeftModel model, Tokenizer tokenizer, Template template) {
        return new Builder(model, tokenizer, template);
    }

    /** Options of a {@link PromptClassifier}; set a verbalizer or a head input. */
    public static final class Builder {
        private final PeftModel model;
        private final Tokenizer tok;
        private final Template template;
        private Verbalizer verbalizer;
        private HeadInput head;
        private ClassificationHead ownHead;
        private boolean vocabularyOnly;
        private Integer maxLength;
        private String softName = SOFT_TOKENS;
        private long seed;

        private Builder(PeftModel model, Tokenizer tok, Template template) {
            this.model = model;
            this.tok = tok;
            this.template = template;
        }

        /** Scores the classes with the label words of {@code v}. */
        public Builder verbalizer(Verbalizer v) {
            this.verbalizer = v;
            return this;
        }

        /** Scores with the model's classification head (set on the model first) instead of a verbalizer. */
        public Builder head(HeadInput input) {
            this.head = input;
            this.ownHead = null;
            return this;
        }

        /**
         * Scores with {@code head}, the classifier's own, instead of a verbalizer: for a model that serves several
         * classifiers, each with its head, the model's {@link PeftModel#head()} is neither read nor changed.
         */
        public Builder head(HeadInput input, ClassificationHead head) {
            this.head = input;
            this.ownHead = java.util.Objects.requireNonNull(head, "head");
            return this;
        }

        /**
         * Neither a verbalizer nor a head: the classifier has no classes and gives only {@link #vocabularyLogProbs}
         * (every token's score at the answer position, what a search for label words reads); scoring classes fails.
         */
        public Builder vocabularyOnly() {
            this.vocabularyOnly = true;
            return this;
        }

        /**
         * The longest rendered input, special tokens included. Default: the model's positions minus the virtual
         * tokens of every installed prompt or prefix adapter ({@code num_virtual_tokens}), which take positions too.
         */
        public Builder maxLength(int maxLength) {
            if (maxLength < 1) throw new IllegalArgumentException("max length must be positive, not " + maxLength);
            this.maxLength = maxLength;
            return this;
        }

        /**
         * The adapter that holds the template's soft tokens: created with their initialisation when the model has
         * none of that name, used as it is when it has (e.g. loaded from a saved model).
         */
        public Builder softTokens(String adapterName) {
            this.softName = adapterName;
            return this;
        }

        /** Seeds the random initialisation of {@code {soft}} tokens. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Validates the template and verbalizer for the model and tokenizer; creates the soft-token adapter when needed. */
        public PromptClassifier build() {
            int set = (verbalizer != null ? 1 : 0) + (head != null ? 1 : 0) + (vocabularyOnly ? 1 : 0);
            if (set != 1) throw new IllegalStateException("set one of a verbalizer, a head input or vocabularyOnly(), not " + (set == 0 ? "none" : "several"));
            ModelConfig cfg = model.base().config();
            AnswerMode mode = head == HeadInput.SEQUENCE ? AnswerMode.NONE : AnswerMode.of(cfg);
            int max = maxLength != null ? maxLength : cfg.maxPositions() - reservedPositions(model);
            TemplateEncoder enc = template.encoder(tok, mode, max);
            LabelWords lw = null;
            List<String> labels;
            if (verbalizer != null) {
                lw = verbalizer.bind(tok);
                for (int[][] words : lw.ids()) {
                    for (int[] word : words) {
                        for (int id : word) {
                            if (id >= cfg.vocabSize()) {
                                throw new PeftException("a label word's token id " + id + " is outside the model's vocabulary of " + cfg.vocabSize()
                                        + " (the tokenizer has " + tok.vocabSize() + " tokens): they do not belong together");
                            }
                        }
                    }
                }
                labels = verbalizer.labels();
            } else if (vocabularyOnly) {
                if (tok.vocabSize() > cfg.vocabSize()) {
                    throw new PeftException("the tokenizer has " + tok.vocabSize() + " tokens, the model's vocabulary " + cfg.vocabSize() + ": they do not belong together");
                }
                labels = List.of();
            } else {
                if (!((ownHead != null ? ownHead : model.head()) instanceof ClassificationHead h) || h.isRegression()) {
                    throw new PeftException("a template that feeds a head needs a classification head on the model (PeftModel.setHead) first");
                }
                labels = h.labels();
            }
            String soft = null;
            if (enc.softTokenCount() > 0) {
                soft = softName;
                Adapter existing = model.adapters().stream().filter(a -> a.name().equals(softName)).findFirst().orElse(null);
                if (existing == null) {
                    model.add(softName, SoftTokensConfig.of(enc.softInitIds()), seed);
                } else if (!(existing.config() instanceof SoftTokensConfig c) || c.count() != enc.softTokenCount()) {
                    throw new PeftException("adapter '" + softName + "' is not the " + enc.softTokenCount() + " soft tokens of template '" + template
                            + "' (it is " + existing + "): name another with softTokens(...)");
                }
            }
            return new PromptClassifier(model, enc, lw, head, labels, soft, Calibration.none(), ownHead);
        }

        private static int reservedPositions(PeftModel model) {
            ModelConfig c = model.base().config();
            PeftConfig.BaseInfo info = PeftConfig.BaseInfo.of(c, c.modelType());
            int n = 0;
            for (Adapter a : model.adapters()) n += a.config().toJson(info).path("num_virtual_tokens").asInt(0);
            return n;
        }
    }

    /** The model the classifier runs. */
    public PeftModel model() {
        return model;
    }

    /** The template. */
    public Template template() {
        return encoder.template();
    }

    /** The template bound to the tokenizer, answer mode and length limit. */
    public TemplateEncoder encoder() {
        return encoder;
    }

    /** The verbalizer, or null when a head scores the classes. */
    public Verbalizer verbalizer() {
        return words == null ? null : words.verbalizer();
    }

    /** The label words as token ids, or null when a head scores the classes. */
    public LabelWords labelWords() {
        return words;
    }

    /** The class labels; class index i is {@code labels().get(i)}. */
    public List<String> labels() {
        return labels;
    }

    /** The adapter holding the template's soft tokens, or null when it has none. */
    public String softTokensAdapter() {
        return softAdapter;
    }

    /** What a head reads when one scores the classes, or null when a verbalizer does. */
    public HeadInput headInput() {
        return headInput;
    }

    /** The head that scores the classes: the classifier's own, else the model's; null when a verbalizer scores them. */
    public ClassificationHead head() {
        if (headInput == null) return null;
        return ownHead != null ? ownHead : (ClassificationHead) model.head();
    }

    /** The calibration predictions use ({@link Calibration#none()} unless set). */
    public Calibration calibration() {
        return calibration;
    }

    /** This classifier with predictions and log-probabilities calibrated by {@code c}. */
    public PromptClassifier withCalibration(Calibration c) {
        if (!c.isNone() && c.reference().length != labels.size()) {
            throw new PeftException("a calibration of " + c.reference().length + " classes for a classifier of " + labels.size());
        }
        return new PromptClassifier(model, encoder, words, headInput, labels, softAdapter, c, ownHead);
    }

    /** {@code record} rendered through the template. */
    public Rendered render(Map<String, String> record) {
        return encoder.encode(record);
    }

    /** The class index of {@code label}; an unknown label is an error listing the classifier's labels. */
    public int labelIndex(String label) {
        int i = labels.indexOf(label);
        if (i < 0) throw new PeftException("label '" + label + "' is not one of the classifier's labels " + labels);
        return i;
    }

    // ------------------------------------------------------------------ scoring a batch

    /** One row of a batch: its classifier, its record, and its row tag (the adapter it uses; null: no tag). */
    public record Row(PromptClassifier classifier, Map<String, String> record, String rowTag) {
    }

    /**
     * Class scores of a batch: {@code values [B, C]}, C the most classes of any row; row r's classes are its
     * first {@code classCounts[r]} columns, the rest {@value #ABSENT_CLASS}.
     */
    public record Scores(Tensor values, int[] classCounts) {
    }

    /** Class scores {@code [B, C]} of records rendered through this classifier's template, differentiable. */
    public Tensor classScores(List<Map<String, String>> records, ForwardContext ctx) {
        List<Row> rows = new ArrayList<>(records.size());
        for (Map<String, String> r : records) rows.add(new Row(this, r, null));
        return scores(rows, ctx).values();
    }

    /**
     * Scores a batch whose rows may use different classifiers (of one model) and adapters: one forward pass
     * with the rows' tags (when any row has one; else {@code ctx}'s), and per classifier the LM head (or the
     * head) on its rows' answer positions only.
     */
    public static Scores scores(List<Row> rows, ForwardContext ctx) {
        Pass p = forward(rows, ctx);
        Map<PromptClassifier, List<Integer>> groups = new LinkedHashMap<>();   // classifiers compare by identity
        for (int r = 0; r < rows.size(); r++) groups.computeIfAbsent(rows.get(r).classifier(), k -> new ArrayList<>()).add(r);
        int b = rows.size(), most = 0;
        int[] counts = new int[b];
        for (int r = 0; r < b; r++) {
            counts[r] = rows.get(r).classifier().labels.size();
            most = Math.max(most, counts[r]);
        }
        if (groups.size() == 1) return new Scores(groups.keySet().iterator().next().groupScores(p, groups.values().iterator().next()), counts);
        List<Tensor> parts = new ArrayList<>();
        int[] order = new int[b];
        int at = 0;
        for (var e : groups.entrySet()) {
            Tensor s = e.getKey().groupScores(p, e.getValue());
            long c = s.size(1);
            if (c < most) {
                INDArray pad = Nd4j.valueArrayOf(new long[]{s.size(0), most - c}, ABSENT_CLASS, s.dataType());
                s = Ops.concat(1, s, Tensor.constant(pad));
            }
            parts.add(s);
            for (int r : e.getValue()) order[r] = at++;
        }
        return new Scores(Ops.embedding(Ops.concat(0, parts.toArray(new Tensor[0])), order), counts);
    }

    /** One forward pass over rendered rows. */
    private record Pass(ModelOutput out, int[] answerPositions, ForwardContext ctx) {
        long width() {
            return out.hidden().size(1);
        }

        /** The flattened hidden-state row of each given batch row's answer position. */
        int[] answerRows(List<Integer> rows) {
            int[] at = new int[rows.size()];
            for (int i = 0; i < at.length; i++) {
                int r = rows.get(i);
                at[i] = (int) (r * width() + out.virtualTokens() + answerPositions[r]);
            }
            return at;
        }
    }

    private static Pass forward(List<Row> rows, ForwardContext ctx) {
        if (rows.isEmpty()) throw new IllegalArgumentException("no rows to score");
        PeftModel model = rows.get(0).classifier().model;
        int b = rows.size(), t = 0;
        Rendered[] rendered = new Rendered[b];
        boolean tagged = false;
        for (int r = 0; r < b; r++) {
            Row row = rows.get(r);
            if (row.classifier().model != model) throw new IllegalArgumentException("rows of one batch must use classifiers of one model");
            rendered[r] = row.classifier().encoder.encode(row.record());
            t = Math.max(t, rendered[r].length());
            tagged |= row.rowTag() != null;
        }
        int[][] ids = new int[b][t], types = new int[b][t], mask = new int[b][t];
        Map<String, List<int[]>> slots = new LinkedHashMap<>();
        for (int r = 0; r < b; r++) {
            Rendered x = rendered[r];
            java.util.Arrays.fill(ids[r], rows.get(r).classifier().encoder.tokenizer().padId());
            System.arraycopy(x.ids(), 0, ids[r], 0, x.length());
            System.arraycopy(x.tokenTypes(), 0, types[r], 0, x.length());
            java.util.Arrays.fill(mask[r], 0, x.length(), 1);
            String soft = rows.get(r).classifier().softAdapter;
            for (int i = 0; i < x.softPositions().length; i++) {
                slots.computeIfAbsent(soft, k -> new ArrayList<>()).add(new int[]{r, x.softPositions()[i], x.softIndices()[i]});
            }
        }
        List<String> tags = ctx.rowTags();
        if (tagged) {
            tags = new ArrayList<>(b);
            for (Row row : rows) tags.add(row.rowTag());
        }
        ForwardContext c = new ForwardContext(b, tags, ctx.training(), ctx.seed(), ctx.attachments());
        if (!slots.isEmpty()) {
            Map<String, int[][]> m = new LinkedHashMap<>();
            slots.forEach((k, v) -> m.put(k, v.toArray(new int[0][])));
            c = c.with(SoftTokenSlots.class, new SoftTokenSlots(t, m));
        }
        int[] answers = new int[b];
        for (int r = 0; r < b; r++) answers[r] = rendered[r].answerPosition();
        return new Pass(model.forward(new Batch(ids, types, mask), c), answers, c);
    }

    /** This classifier's class scores {@code [g, C]} for the given rows of a pass. */
    private Tensor groupScores(Pass p, List<Integer> rows) {
        if (words != null) return words.scores(answerLogits(p, rows));
        if (headInput == null) throw new PeftException(this + " has no verbalizer and no head: it gives vocabularyLogProbs only");
        if (headInput == HeadInput.MASK) {
            Tensor at = answerHidden(p, rows);
            int[][] ones = new int[rows.size()][1];
            for (int[] o : ones) o[0] = 1;
            return headLogits(new ModelOutput(Ops.reshape(at, at.size(0), 1, at.size(1)), 0, ones), p.ctx());
        }
        ModelOutput out = p.out();
        if (rows.size() != p.answerPositions().length || !inOrder(rows)) {
            Tensor h = out.hidden();
            long w = h.size(1), d = h.size(2);
            int[] idx = rows.stream().mapToInt(Integer::intValue).toArray();
            int[][] mask = new int[idx.length][];
            for (int i = 0; i < idx.length; i++) mask[i] = out.attentionMask()[idx[i]];
            out = new ModelOutput(Ops.reshape(Ops.embedding(Ops.reshape(h, h.size(0), w * d), idx), idx.length, w, d), out.virtualTokens(), mask);
        }
        return headLogits(out, p.ctx());
    }

    private Tensor headLogits(ModelOutput out, ForwardContext ctx) {
        return ownHead != null ? ownHead.apply(out, ctx) : model.headLogits(out, ctx);
    }

    /**
     * This classifier's raw class scores {@code [g, C]} (no calibration) for {@code rows} of a forward pass that its
     * caller ran, rows rendered through this classifier's template ({@link #render}) and perhaps others of other
     * classifiers or inputs: {@code out} and {@code ctx} are the pass's output and context, {@code answerPositions}
     * each batch row's {@link Rendered#answerPosition()} (for this classifier's rows). What a server that mixes
     * classifiers of several kinds in one batch uses; {@link #scores(List, ForwardContext)} runs the pass itself.
     */
    public Tensor scores(ModelOutput out, ForwardContext ctx, List<Integer> rows, int[] answerPositions) {
        if (answerPositions.length != out.hidden().size(0)) {
            throw new IllegalArgumentException(answerPositions.length + " answer positions for a pass of " + out.hidden().size(0) + " rows");
        }
        return groupScores(new Pass(out, answerPositions, ctx), rows);
    }

    private static boolean inOrder(List<Integer> rows) {
        for (int i = 0; i < rows.size(); i++) if (rows.get(i) != i) return false;
        return true;
    }

    /** The final hidden states {@code [g, D]} at the given rows' answer positions. */
    private static Tensor answerHidden(Pass p, List<Integer> rows) {
        Tensor h = p.out().hidden();
        return Ops.embedding(Ops.reshape(h, h.size(0) * h.size(1), h.size(2)), p.answerRows(rows));
    }

    /** The LM logits {@code [g, V]} at the given rows' answer positions (the LM head runs on those rows only). */
    private Tensor answerLogits(Pass p, List<Integer> rows) {
        if (encoder.mode() == AnswerMode.NONE) throw new PeftException("template '" + template() + "' has no answer position for the LM head");
        Tensor at = answerHidden(p, rows);
        long g = at.size(0), d = at.size(1);
        Tensor logits = model.base().lmLogits(Ops.reshape(at, 1, g, d));
        return Ops.reshape(logits, g, logits.size(2));
    }

    // ------------------------------------------------------------------ inference

    /** Raw class scores {@code [N, C]} (no calibration), in batches of {@code batchSize}. */
    public double[][] classScores(List<Map<String, String>> records, int batchSize) {
        return scoresOf(rowsOf(records), batchSize);
    }

    /** Calibrated log-probabilities {@code [N, C]} ({@link #calibration()}; none: {@code log_softmax} of the scores). */
    public double[][] logProbabilities(List<Map<String, String>> records, int batchSize) {
        return calibration.apply(classScores(records, batchSize));
    }

    /** The predicted class index per record (the largest calibrated log-probability). */
    public int[] predict(List<Map<String, String>> records, int batchSize) {
        return argmax(logProbabilities(records, batchSize));
    }

    /**
     * Calibrated log-probabilities of rows that may use different classifiers and adapters, in mixed batches of
     * {@code batchSize}; row r has its classifier's classes.
     */
    public static double[][] mixedLogProbabilities(List<Row> rows, int batchSize) {
        double[][] s = scoresOf(rows, batchSize);
        double[][] out = new double[s.length][];
        for (int r = 0; r < s.length; r++) out[r] = rows.get(r).classifier().calibration.apply(new double[][]{s[r]})[0];
        return out;
    }

    /**
     * The log-softmax over the whole vocabulary at each record's answer position, {@code [N, V]}: every token's
     * score as an answer (what a search for label words or templates needs).
     */
    public INDArray vocabularyLogProbs(List<Map<String, String>> records, int batchSize) {
        if (words == null && headInput == HeadInput.SEQUENCE) throw new PeftException("template '" + template() + "' has no answer position for the LM head");
        List<Row> rows = rowsOf(records);
        List<INDArray> parts = new ArrayList<>();
        for (int s = 0; s < rows.size(); s += batchSize) {
            List<Row> part = rows.subList(s, Math.min(rows.size(), s + batchSize));
            parts.add(Workspaces.run(() -> {
                Pass p = forward(part, ForwardContext.inference(part.size()));
                List<Integer> all = java.util.stream.IntStream.range(0, part.size()).boxed().toList();
                return new INDArray[]{Ops.logSoftmax(answerLogits(p, all)).value()};
            })[0]);
        }
        return Nd4j.concat(0, parts.toArray(new INDArray[0]));
    }

    /** Contextual calibration with the content-free input {@code N/A} in every field the template reads. */
    public Calibration contentFreeCalibration() {
        return contentFreeCalibration(List.of("N/A"));
    }

    /** Contextual calibration averaged over content-free inputs (Zhao et al. used {@code N/A}, {@code ""} and {@code [MASK]}). */
    public Calibration contentFreeCalibration(List<String> contentFreeInputs) {
        List<Map<String, String>> records = contentFreeInputs.stream().map(template()::recordOf).toList();
        return Calibration.contentFree(classScores(records, Math.max(1, records.size())));
    }

    /** Calibration on unlabelled records: OpenPrompt's mean over them at the answer position. */
    public Calibration unlabelledCalibration(List<Map<String, String>> records, int batchSize) {
        if (words == null) throw new PeftException("calibration on unlabelled inputs needs a verbalizer");
        if (records.isEmpty()) throw new PeftException("calibration on unlabelled inputs needs at least one input");
        return Calibration.meanOf(vocabularyLogProbs(records, batchSize).mean(0), words);
    }

    private List<Row> rowsOf(List<Map<String, String>> records) {
        List<Row> rows = new ArrayList<>(records.size());
        for (Map<String, String> r : records) rows.add(new Row(this, r, null));
        return rows;
    }

    private static double[][] scoresOf(List<Row> rows, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, not " + batchSize);
        double[][] out = new double[rows.size()][];
        for (int s = 0; s < rows.size(); s += batchSize) {
            List<Row> part = rows.subList(s, Math.min(rows.size(), s + batchSize));
            // in a pass workspace: outside one every activation would be garbage that only the Java GC frees
            INDArray v = Workspaces.run(() -> new INDArray[]{scores(part, ForwardContext.inference(part.size())).values().value()})[0];
            for (int i = 0; i < part.size(); i++) {
                double[] row = v.getRow(i).toDoubleVector();
                out[s + i] = java.util.Arrays.copyOf(row, part.get(i).classifier().labels.size());
            }
        }
        return out;
    }

    private static int[] argmax(double[][] x) {
        int[] out = new int[x.length];
        for (int r = 0; r < x.length; r++) {
            for (int j = 1; j < x[r].length; j++) if (x[r][j] > x[r][out[r]]) out[r] = j;
        }
        return out;
    }

    // ------------------------------------------------------------------ training

    /** A training example for {@link #objective()}: a record, its class index, its classifier and its row tag (null: none). */
    public record Example(PromptClassifier classifier, Map<String, String> record, int label, String rowTag) {
        public Example {
            if (label < 0 || label >= classifier.labels.size()) {
                throw new IllegalArgumentException("label index " + label + " outside the classifier's " + classifier.labels.size() + " labels");
            }
        }
    }

    /** An example of this classifier with the class named {@code label}. */
    public Example example(Map<String, String> record, String label) {
        return new Example(this, record, labelIndex(label), null);
    }

    /** An example of this classifier with the class named {@code label}, for the adapter {@code rowTag}. */
    public Example example(Map<String, String> record, String label, String rowTag) {
        return new Example(this, record, labelIndex(label), rowTag);
    }

    /**
     * PET's loss: the mean over the batch of the cross-entropy of each example's class scores against its label
     * (its own classifier's classes when a batch mixes classifiers). Trains whatever the model has trainable:
     * adapters of any method, soft tokens, a head, or the whole model.
     */
    public static Objective<Example> objective() {
        return (model, batch, ctx) -> {
            List<Row> rows = new ArrayList<>(batch.size());
            int[] labels = new int[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                Example e = batch.get(i);
                if (e.classifier().model != model) throw new IllegalArgumentException("an example's classifier is for another model than the one trained");
                rows.add(new Row(e.classifier(), e.record(), e.rowTag()));
                labels[i] = e.label();
            }
            return Ops.crossEntropy(scores(rows, ctx).values(), labels, Integer.MIN_VALUE);
        };
    }

    /** Accuracy of each example's classifier (with its calibration) on the examples. */
    public static Metric<Example> accuracy(int batchSize) {
        return new Metric<>() {
            @Override
            public double evaluate(PeftModel model, List<Example> dev) {
                List<Row> rows = dev.stream().map(e -> new Row(e.classifier(), e.record(), e.rowTag())).toList();
                int[] pred = argmax(mixedLogProbabilities(rows, batchSize));
                int ok = 0;
                for (int i = 0; i < pred.length; i++) if (pred[i] == dev.get(i).label()) ok++;
                return (double) ok / dev.size();
            }

            @Override
            public boolean higherIsBetter() {
                return true;
            }
        };
    }

    // ------------------------------------------------------------------ files

    /**
     * Writes what this classifier needs besides the model's adapters and head into {@code dir}: {@value Template#FILE}
     * (with {@code "head_input"} when a head scores the classes) and {@value Verbalizer#FILE} (whose label order is the
     * class order). Meant for the directory {@link PeftModel#writeFiles} fills, inside one
     * {@link io.peft4j.core.io.AtomicFiles#writeDirectory}.
     */
    public void writeFiles(java.nio.file.Path dir) {
        if (words == null && headInput == null) throw new IllegalStateException(this + " scores no classes: there is nothing to save");
        var t = template().toJson();
        if (headInput != null) t.put("head_input", headInput.name().toLowerCase(java.util.Locale.ROOT));
        if (softAdapter != null && !softAdapter.equals(SOFT_TOKENS)) t.put("soft_tokens_adapter", softAdapter);
        io.peft4j.core.io.Json.write(dir.resolve(Template.FILE), t);
        if (words != null) words.verbalizer().write(dir.resolve(Verbalizer.FILE));
    }

    /**
     * The classifier saved in {@code dir} by {@link #writeFiles}, on {@code model} (whose adapters and head were loaded
     * from it): a verbalizer when {@value Verbalizer#FILE} is there, else the model's head with the recorded
     * {@code head_input}. A template's soft tokens are loaded from {@code dir/soft_tokens} (or {@code dir} itself; another
     * adapter name when {@code template.json} records {@code soft_tokens_adapter}) when the model does not have them
     * yet. Faults name the file and field.
     */
    public static PromptClassifier read(PeftModel model, Tokenizer tokenizer, java.nio.file.Path dir) {
        return read(model, tokenizer, dir, null);
    }

    /** {@link #read(PeftModel, Tokenizer, java.nio.file.Path)}, rendering to at most {@code maxLength} tokens (null: the default). */
    public static PromptClassifier read(PeftModel model, Tokenizer tokenizer, java.nio.file.Path dir, Integer maxLength) {
        return read(model, tokenizer, dir, maxLength, null, null);
    }

    /**
     * {@link #read(PeftModel, Tokenizer, java.nio.file.Path, Integer)} onto a model that serves several classifiers:
     * the template's soft tokens are loaded as adapter {@code softTokensAdapter} (null: the name {@code template.json}
     * records), and a head-scored classifier scores with {@code head} (null: the model's head).
     */
    public static PromptClassifier read(PeftModel model, Tokenizer tokenizer, java.nio.file.Path dir, Integer maxLength, String softTokensAdapter,
                                        ClassificationHead head) {
        java.nio.file.Path tf = dir.resolve(Template.FILE), vf = dir.resolve(Verbalizer.FILE);
        if (!java.nio.file.Files.isRegularFile(tf)) throw PeftException.inFile(dir, "no " + Template.FILE + " (not a prompt-based classifier)");
        var json = io.peft4j.core.io.Json.read(tf);
        Template template = Template.fromJson(json, tf);
        Builder b = builder(model, tokenizer, template);
        if (maxLength != null) b.maxLength(maxLength);
        if (java.nio.file.Files.isRegularFile(vf)) {
            b.verbalizer(Verbalizer.read(vf));
        } else {
            String in = json.path("head_input").asText("");
            HeadInput h = java.util.Arrays.stream(HeadInput.values()).filter(x -> x.name().equalsIgnoreCase(in)).findFirst()
                    .orElseThrow(() -> PeftException.inFile(tf, in.isEmpty() ? "no " + Verbalizer.FILE + " beside it and no field 'head_input'"
                            : "field 'head_input' is \"" + in + "\", not \"mask\" or \"sequence\""));
            if (head != null) b.head(h, head);
            else b.head(h);
        }
        String saved = json.path("soft_tokens_adapter").asText(SOFT_TOKENS);
        String soft = softTokensAdapter != null ? softTokensAdapter : saved;
        b.softTokens(soft);
        if (template.hasSoftTokens() && model.adapters().stream().noneMatch(a -> a.name().equals(soft))) {
            java.nio.file.Path own = dir.resolve(saved);
            boolean shared = softTokensAdapter != null || head != null;      // the model's head is not this classifier's to set
            if (java.nio.file.Files.isRegularFile(own.resolve(PeftModel.CONFIG_FILE))) {
                if (shared) model.loadAdapter(own, soft);
                else model.load(own, soft);
            } else if (java.nio.file.Files.isRegularFile(dir.resolve(PeftModel.CONFIG_FILE))
                    && io.peft4j.core.io.Json.read(dir.resolve(PeftModel.CONFIG_FILE)).path("peft_type").asText().equals(SoftTokensConfig.PEFT_TYPE)) {
                if (shared) model.loadAdapter(dir, soft);
                else model.load(dir, soft);
            } else {
                throw PeftException.inFile(tf, "template '" + template + "' has soft tokens, but no " + saved + " adapter was saved beside it");
            }
        }
        return b.build();
    }

    @Override
    public String toString() {
        return "PromptClassifier[" + template() + " -> " + (words != null ? words.verbalizer() : headInput != null ? "head at " + headInput : "vocabulary only") + "]";
    }
}
