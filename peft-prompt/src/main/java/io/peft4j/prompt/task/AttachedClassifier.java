package io.peft4j.prompt.task;

import io.peft4j.core.PeftException;
import io.peft4j.core.classify.TextClassifier;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.soft.SoftTokenSlots;
import io.peft4j.prompt.template.Rendered;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained classifier directory attached to a {@link PeftModel} that other classifiers and adapters share
 * ({@link ClassifierDirectory#attach}): its adapter is installed under the classifier's {@link #name()} and used by
 * the rows tagged with that name only, its head (if any) is its own rather than the model's, and its template's soft
 * tokens (if any) are an adapter of their own. So one frozen base serves many classifiers, and one forward pass can
 * classify inputs for several of them at once ({@link #logProbabilities(List)}).
 *
 * <pre>{@code
 * PeftModel shared = PeftModel.of(Models.load(baseDir, DataType.FLOAT));
 * Tokenizer tok = Tokenizers.load(baseDir);
 * AttachedClassifier spam = ClassifierDirectory.attach(Path.of("spam-lora"), shared, tok, "spam");
 * AttachedClassifier topic = ClassifierDirectory.attach(Path.of("topic-ia3"), shared, tok, "topic");
 * double[][] lp = AttachedClassifier.logProbabilities(List.of(spam.encode(Map.of("text", "Win a cruise!")),
 *         topic.encode(Map.of("text", "The match ended 2-1"))));    // one pass, each row with its classifier
 * }</pre>
 *
 * <p>Like the model it runs on, it is not thread-safe.
 */
public final class AttachedClassifier implements TextClassifier {
    private final PeftModel model;
    private final String name;
    private final Path dir;
    private final TaskConfig task;
    private final Tokenizer tokenizer;
    private final List<String> adapterNames;
    private final ClassificationHead head;
    private final TextEncoder encoder;          // a head on the text fields
    private final PromptClassifier prompt;      // a template with a verbalizer or a head
    private boolean detached;

    AttachedClassifier(PeftModel model, String name, Path dir, TaskConfig task, Tokenizer tokenizer, List<String> adapterNames,
                       ClassificationHead head, TextEncoder encoder, PromptClassifier prompt) {
        if ((encoder == null) == (prompt == null)) throw new IllegalArgumentException("a text encoder or a prompt classifier, not both or neither");
        this.model = model;
        this.name = name;
        this.dir = dir;
        this.task = task;
        this.tokenizer = tokenizer;
        this.adapterNames = List.copyOf(adapterNames);
        this.head = head;
        this.encoder = encoder;
        this.prompt = prompt;
    }

    /** The name it was attached under: its adapter's name and the row tag of its inputs. */
    public String name() {
        return name;
    }

    /** The directory it was read from. */
    public Path dir() {
        return dir;
    }

    /** What the directory's {@value TaskConfig#FILE} records. */
    public TaskConfig task() {
        return task;
    }

    /** The shared model. */
    public PeftModel model() {
        return model;
    }

    /** The adapters attaching installed on the shared model (its adapter, its template's soft tokens; none for a head alone). */
    public List<String> adapterNames() {
        return adapterNames;
    }

    /** Its own head, or null when a verbalizer scores the classes. */
    public ClassificationHead head() {
        return head;
    }

    /** The template classifier, or null when a head reads the text fields as they are. */
    public PromptClassifier promptClassifier() {
        return prompt;
    }

    @Override
    public List<String> labels() {
        return task.labels();
    }

    /** The record fields an input must have: the task's text fields, or the fields the template reads. */
    public List<String> inputFields() {
        return prompt != null ? prompt.template().recordFields() : task.data().textFields();
    }

    /** Every trainable element it brought: its adapters' and its head's. */
    public long parameterCount() {
        long n = 0;
        for (String a : adapterNames) n += model.adapter(a).parameterCount();
        if (head != null) n += head.parameters().values().stream().mapToLong(t -> t.value().length()).sum();
        return n;
    }

    /** Removes its adapters from the shared model (idempotent). */
    public void detach() {
        if (detached) return;
        detached = true;
        for (String a : adapterNames) {
            if (model.adapters().stream().anyMatch(x -> x.name().equals(a))) model.remove(a);
        }
    }

    private void requireAttached() {
        if (detached) throw new IllegalStateException("classifier '" + name + "' was detached from the model");
    }

    // ------------------------------------------------------------------ encoding

    /**
     * One input ready for a pass: its tokens (truncated to the task's {@code max_length} as training truncated them),
     * where its answer is read, and how long it was before truncation.
     */
    public static final class Encoded {
        private final AttachedClassifier classifier;
        private final int[] ids, types, softPositions, softIndices;
        private final int answerPosition, untruncatedLength;

        private Encoded(AttachedClassifier classifier, int[] ids, int[] types, int answerPosition, int[] softPositions, int[] softIndices,
                        int untruncatedLength) {
            this.classifier = classifier;
            this.ids = ids;
            this.types = types;
            this.answerPosition = answerPosition;
            this.softPositions = softPositions;
            this.softIndices = softIndices;
            this.untruncatedLength = untruncatedLength;
        }

        public AttachedClassifier classifier() {
            return classifier;
        }

        /** Tokens the pass runs, special tokens included. */
        public int length() {
            return ids.length;
        }

        /** Tokens the input has before truncation to the task's maximum length, special tokens included. */
        public int untruncatedLength() {
            return untruncatedLength;
        }
    }

    /**
     * Encodes one input (its fields by name). A missing field is a {@link PeftException} naming it, the input's fields
     * and this classifier.
     */
    public Encoded encode(Map<String, String> record) {
        requireAttached();
        for (String f : inputFields()) {
            if (!record.containsKey(f) || record.get(f) == null) {
                throw new PeftException("no field '" + f + "' (its fields: " + record.keySet() + "); classifier '" + name + "' reads " + inputFields()
                        + ", as " + dir.resolve(TaskConfig.FILE) + " says");
            }
        }
        if (prompt != null) {
            Rendered r = prompt.render(record);
            return new Encoded(this, r.ids(), r.tokenTypes(), r.answerPosition(), r.softPositions(), r.softIndices(), r.length() + r.truncatedTokens());
        }
        Encoding e = encoder.encode(new TextRecord(record, null, "input", 1));
        List<String> fields = encoder.textFields();
        int full = tokenizer.specialTokenCount(fields.size() == 2);
        for (String f : fields) full += tokenizer.encodeText(record.get(f)).length;
        return new Encoded(this, e.ids(), e.typeIds(), -1, new int[0], new int[0], full);
    }

    // ------------------------------------------------------------------ scoring

    /**
     * Log-probabilities of encoded inputs that may belong to different classifiers attached to one model, in one
     * forward pass: row r holds its classifier's {@link #labels()} (a template classifier's calibration applied).
     */
    public static double[][] logProbabilities(List<Encoded> rows) {
        if (rows.isEmpty()) throw new IllegalArgumentException("no rows to score");
        PeftModel model = rows.get(0).classifier.model;
        int b = rows.size(), t = 0;
        for (Encoded e : rows) {
            if (e.classifier.model != model) throw new IllegalArgumentException("rows of one pass must use classifiers attached to one model");
            e.classifier.requireAttached();
            t = Math.max(t, e.length());
        }
        int[][] ids = new int[b][t], types = new int[b][t], mask = new int[b][t];
        int[] answers = new int[b];
        List<String> tags = new ArrayList<>(b);
        Map<String, List<int[]>> slots = new LinkedHashMap<>();
        Map<AttachedClassifier, List<Integer>> groups = new IdentityHashMap<>();
        List<AttachedClassifier> order = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            Encoded e = rows.get(r);
            Arrays.fill(ids[r], e.classifier.tokenizer.padId());
            System.arraycopy(e.ids, 0, ids[r], 0, e.length());
            if (e.types != null) System.arraycopy(e.types, 0, types[r], 0, e.length());
            Arrays.fill(mask[r], 0, e.length(), 1);
            answers[r] = e.answerPosition;
            tags.add(e.classifier.name);
            if (e.softPositions.length > 0) {
                String soft = e.classifier.prompt.softTokensAdapter();
                for (int i = 0; i < e.softPositions.length; i++) {
                    slots.computeIfAbsent(soft, k -> new ArrayList<>()).add(new int[]{r, e.softPositions[i], e.softIndices[i]});
                }
            }
            groups.computeIfAbsent(e.classifier, k -> {
                order.add(k);
                return new ArrayList<>();
            }).add(r);
        }
        ForwardContext base = new ForwardContext(b, tags, false, 0);
        if (!slots.isEmpty()) {
            Map<String, int[][]> m = new LinkedHashMap<>();
            slots.forEach((k, v) -> m.put(k, v.toArray(new int[0][])));
            base = base.with(SoftTokenSlots.class, new SoftTokenSlots(t, m));
        }
        ForwardContext ctx = base;
        Batch batch = new Batch(ids, types, mask);
        INDArray[] scores = Workspaces.run(() -> {
            ModelOutput out = model.forward(batch, ctx);
            INDArray[] s = new INDArray[order.size()];
            for (int g = 0; g < s.length; g++) s[g] = order.get(g).groupScores(out, ctx, groups.get(order.get(g)), answers).value();
            return s;
        });
        double[][] result = new double[b][];
        for (int g = 0; g < order.size(); g++) {
            AttachedClassifier c = order.get(g);
            List<Integer> members = groups.get(c);
            for (int i = 0; i < members.size(); i++) {
                double[] raw = scores[g].getRow(i).toDoubleVector();
                result[members.get(i)] = c.prompt != null ? c.prompt.calibration().apply(new double[][]{raw})[0] : TextClassifier.logSoftmax(raw);
            }
        }
        return result;
    }

    /** Class scores {@code [g, C]} of this classifier's rows of a pass. */
    private Tensor groupScores(ModelOutput out, ForwardContext ctx, List<Integer> rows, int[] answers) {
        if (prompt != null) return prompt.scores(out, ctx, rows, answers);
        int[] idx = rows.stream().mapToInt(Integer::intValue).toArray();
        boolean all = idx.length == out.hidden().size(0);
        for (int i = 0; all && i < idx.length; i++) all = idx[i] == i;
        if (!all) {
            Tensor h = out.hidden();
            long w = h.size(1), d = h.size(2);
            int[][] m = new int[idx.length][];
            for (int i = 0; i < idx.length; i++) m[i] = out.attentionMask()[idx[i]];
            out = new ModelOutput(Ops.reshape(Ops.embedding(Ops.reshape(h, h.size(0), w * d), idx), idx.length, w, d), out.virtualTokens(), m);
        }
        return head.apply(out, ctx);
    }

    /** Log-probabilities of {@code records}, in passes of {@code batchSize}, with this classifier's adapter on their rows. */
    @Override
    public double[][] logProbabilities(List<Map<String, String>> records, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, not " + batchSize);
        double[][] out = new double[records.size()][];
        for (int s = 0; s < records.size(); s += batchSize) {
            List<Encoded> part = new ArrayList<>();
            for (int i = s; i < Math.min(records.size(), s + batchSize); i++) {
                try {
                    part.add(encode(records.get(i)));
                } catch (PeftException e) {
                    throw new PeftException("input " + (i + 1) + ": " + e.getMessage(), e);
                }
            }
            double[][] lp = logProbabilities(part);
            System.arraycopy(lp, 0, out, s, lp.length);
        }
        return out;
    }

    @Override
    public String toString() {
        return "AttachedClassifier[" + name + " from " + dir + (prompt != null ? ", " + prompt : ", head on " + task.data().textFields()) + "]";
    }
}
