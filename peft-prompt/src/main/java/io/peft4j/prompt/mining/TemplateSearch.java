package io.peft4j.prompt.mining;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.mining.TemplateCandidates.Candidate;
import io.peft4j.prompt.template.AnswerMode;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Template search: scores candidate templates ({@link TemplateCandidates}) on labelled data and ranks them. For each
 * candidate in turn:
 * <ol>
 * <li>the verbalizer is the given one, or one mined for this template on the training records
 * ({@link VerbalizerSearch}, zero-shot, as LM-BFF searches label words per template);</li>
 * <li>zero-shot: nothing is trained; few-shot ({@link Builder#fewShot}): a fresh adapter of the given method (and
 * the template's soft tokens, if any) is trained on the training records with PET's loss
 * ({@link PromptClassifier#objective()}), the same seed and budget for every candidate;</li>
 * <li>the classifier predicts the training and dev records: training accuracy, dev accuracy and dev macro-F1
 * ({@link ClassificationReport});</li>
 * <li>the adapter and soft tokens it added are removed, so every candidate starts from the same model.</li>
 * </ol>
 * The ranking is by dev accuracy, then dev macro-F1, then the candidates' order (LM-BFF keeps the templates that
 * do best on dev). All candidates are checked before any is scored: one that does not bind to the model (a masked LM
 * needs {@code {mask}}) or reads a field the data lacks is an error naming its file and line.
 *
 * <pre>{@code
 * TemplateSearch.Result r = TemplateSearch.builder(model, tokenizer)
 *         .verbalizer(Verbalizer.parse("positive=great;negative=terrible"))
 *         .build()
 *         .run(TemplateCandidates.builtin(false), train, dev);
 * Template best = r.best().candidate().template();
 * String table = r.toMarkdown();
 * }</pre>
 */
public final class TemplateSearch {
    private static final Logger LOG = LoggerFactory.getLogger(TemplateSearch.class);
    /** The adapter a few-shot search trains for each candidate, then removes. */
    public static final String ADAPTER = "template_search";
    /** The adapter that holds a candidate's soft tokens while it is scored. */
    public static final String SOFT_TOKENS = "template_search_soft_tokens";

    /** Told as the candidates are scored, e.g. to move a progress bar: {@code (index, total, scored) -> bar.step()}. */
    @FunctionalInterface
    public interface Listener {
        /** Candidate {@code index} (0-based) of {@code total} is about to be scored; does nothing unless overridden. */
        default void started(int index, int total, Candidate candidate) {
        }

        /** Candidate {@code index} of {@code total} is scored. */
        void finished(int index, int total, Scored scored);
    }

    /**
     * One candidate's scores.
     *
     * @param candidate     the template and where it was written
     * @param verbalizer    the verbalizer it was scored with (the given one, or the one mined for it)
     * @param trainAccuracy accuracy on the training records (after training, in a few-shot search)
     * @param devAccuracy   accuracy on the dev records
     * @param devMacroF1    macro-F1 on the dev records
     */
    public record Scored(Candidate candidate, Verbalizer verbalizer, double trainAccuracy, double devAccuracy, double devMacroF1) {
    }

    /**
     * Few-shot training of each candidate.
     *
     * @param method the adapter trained for each candidate (e.g. a LoRA config), created with {@code config.seed()}
     * @param config the training budget and settings ({@link TrainingConfig#seed()} seeds the data order too)
     */
    public record Training(PeftConfig method, TrainingConfig config) {
        /** Both are required. */
        public Training {
            if (method == null || config == null) throw new IllegalArgumentException("few-shot training needs a method and a training config");
        }
    }

    private final PeftModel model;
    private final Tokenizer tokenizer;
    private final Verbalizer verbalizer;
    private final VerbalizerSearch.Options mining;
    private final Training training;
    private final Map<String, String> fields;
    private final int batchSize;
    private final long seed;
    private final Listener listener;

    private TemplateSearch(Builder b) {
        this.model = b.model;
        this.tokenizer = b.tokenizer;
        this.verbalizer = b.verbalizer;
        this.mining = b.mining;
        this.training = b.training;
        this.fields = Map.copyOf(b.fields);
        this.batchSize = b.batchSize;
        this.seed = b.seed;
        this.listener = b.listener;
    }

    /** Settings of a search on {@code model} with {@code tokenizer}; set a verbalizer or verbalizer search options. */
    public static Builder builder(PeftModel model, Tokenizer tokenizer) {
        return new Builder(model, tokenizer);
    }

    /** Settings of a {@link TemplateSearch}. */
    public static final class Builder {
        private final PeftModel model;
        private final Tokenizer tokenizer;
        private Verbalizer verbalizer;
        private VerbalizerSearch.Options mining;
        private Training training;
        private final Map<String, String> fields = new LinkedHashMap<>();
        private int batchSize = 32;
        private long seed = 42;
        private Listener listener = (index, total, scored) -> {
        };

        private Builder(PeftModel model, Tokenizer tokenizer) {
            this.model = model;
            this.tokenizer = tokenizer;
        }

        /** Scores every candidate with {@code v}. */
        public Builder verbalizer(Verbalizer v) {
            this.verbalizer = v;
            return this;
        }

        /** Mines a verbalizer for each candidate on the training records ({@link VerbalizerSearch}) and scores it with that. */
        public Builder mineVerbalizer(VerbalizerSearch.Options options) {
            this.mining = options;
            return this;
        }

        /** Trains a fresh adapter of {@code method} per candidate with {@code config} before scoring it (default: zero-shot). */
        public Builder fewShot(PeftConfig method, TrainingConfig config) {
            this.training = new Training(method, config);
            return this;
        }

        /**
         * Every candidate that has slot {@code slot} ({@code text}, {@code text_b}, or a {@code field:} name) fills it
         * from record field {@code recordField} ({@link Template#withField}); e.g. {@code text -> subject},
         * {@code text_b -> body} for pairs stored under other names.
         */
        public Builder field(String slot, String recordField) {
            fields.put(slot, recordField);
            return this;
        }

        /** Records per forward pass (default 32). */
        public Builder batchSize(int b) {
            if (b < 1) throw new PeftException("batch size must be positive, not " + b);
            this.batchSize = b;
            return this;
        }

        /** Seeds the random start of {@code {soft}} tokens (default 42; the training is seeded by its config). */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Told as each candidate starts and ends. */
        public Builder listener(Listener l) {
            this.listener = l;
            return this;
        }

        /** The search; exactly one of a verbalizer and verbalizer search options must be set. */
        public TemplateSearch build() {
            if ((verbalizer == null) == (mining == null)) {
                throw new PeftException("template search: give a verbalizer or let one be mined per template, " + (verbalizer == null ? "not neither" : "not both"));
            }
            return new TemplateSearch(this);
        }
    }

    /**
     * Scores every candidate and ranks them (see the class comment). {@code train} and {@code dev} are labelled
     * records; the search's model is left as it was found.
     */
    public Result run(List<Candidate> candidates, List<TextRecord> train, List<TextRecord> dev) {
        if (candidates.isEmpty()) throw new PeftException("template search: no candidate templates");
        if (train.isEmpty()) throw new PeftException("template search: no training records");
        if (dev.isEmpty()) throw new PeftException("template search: no dev records");
        List<Map<String, String>> trainFields = fieldsOf(train), devFields = fieldsOf(dev);
        List<Candidate> bound = bind(candidates, train.get(0));
        if (verbalizer != null) {
            verbalizer.checkLabels(train.stream().map(TextRecord::label).toList(), train.get(0).source());
            for (TextRecord r : dev) {
                if (!verbalizer.labels().contains(r.label())) throw r.error("label '" + r.label() + "' has no words in the verbalizer (its labels: " + verbalizer.labels() + ")");
            }
        }
        if (training != null && !model.trainableParameters().isEmpty()) {
            throw new PeftException("template search with training trains an adapter of its own for each template, but the model has trainable parameters"
                    + " already (" + new TreeSet<>(model.trainableParameters().keySet()).first() + ", ...): they would be trained too and carry over"
                    + " from one template to the next");
        }
        for (String name : new String[]{ADAPTER, SOFT_TOKENS}) {
            if (model.adapters().stream().anyMatch(a -> a.name().equals(name))) throw new PeftException("template search: the model already has an adapter named '" + name + "'");
        }
        List<Scored> scored = new ArrayList<>();
        for (int i = 0; i < bound.size(); i++) {
            Candidate c = bound.get(i);
            listener.started(i, bound.size(), c);
            long t0 = System.nanoTime();
            Scored s;
            try {
                s = score(c, train, trainFields, dev, devFields);
            } finally {
                for (String name : new String[]{ADAPTER, SOFT_TOKENS}) {
                    if (model.adapters().stream().anyMatch(a -> a.name().equals(name))) model.remove(name);
                }
            }
            LOG.info("template {} of {}: '{}' ({}): train {}, dev {} / macro-F1 {} ({} s)", i + 1, bound.size(), c.template().text(), s.verbalizer().spec(),
                    Tables.num(s.trainAccuracy()), Tables.num(s.devAccuracy()), Tables.num(s.devMacroF1()), String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9));
            scored.add(s);
            listener.finished(i, bound.size(), s);
        }
        List<Scored> ranking = new ArrayList<>(scored);
        ranking.sort(Comparator.comparingDouble(Scored::devAccuracy).reversed().thenComparing(Comparator.comparingDouble(Scored::devMacroF1).reversed())
                .thenComparingInt(scored::indexOf));
        return new Result(ranking, verbalizer, mining, training, train.size(), dev.size());
    }

    /** The candidates with the field mapping applied, each checked against the model, the tokenizer and the data's fields. */
    private List<Candidate> bind(List<Candidate> candidates, TextRecord first) {
        ModelConfig cfg = model.base().config();
        AnswerMode mode = AnswerMode.of(cfg);
        List<Candidate> out = new ArrayList<>(candidates.size());
        for (Candidate c : candidates) {
            Template t = c.template();
            for (var e : fields.entrySet()) if (t.slots().contains(e.getKey())) t = t.withField(e.getKey(), e.getValue());
            try {
                t.encoder(tokenizer, mode, cfg.maxPositions());
            } catch (PeftException e) {
                throw c.error(e.getMessage());
            }
            for (String f : t.recordFields()) {
                if (!first.fields().containsKey(f)) {
                    throw c.error("template '" + t + "' reads field '" + f + "', which the data (" + first.source() + ") lacks (its fields: "
                            + new TreeSet<>(first.fields().keySet()) + ")");
                }
            }
            out.add(new Candidate(t, c.source(), c.line()));
        }
        return out;
    }

    private static List<Map<String, String>> fieldsOf(List<TextRecord> records) {
        List<Map<String, String>> out = new ArrayList<>(records.size());
        for (TextRecord r : records) {
            if (r.label() == null) throw r.error("no label (template search needs labelled records)");
            out.add(r.fields());
        }
        return out;
    }

    private Scored score(Candidate c, List<TextRecord> train, List<Map<String, String>> trainFields, List<TextRecord> dev, List<Map<String, String>> devFields) {
        Template t = c.template();
        Verbalizer v = verbalizer;
        if (v == null) {
            PromptClassifier vocab = PromptClassifier.builder(model, tokenizer, t).vocabularyOnly().softTokens(SOFT_TOKENS).seed(seed).build();
            v = VerbalizerSearch.search(vocab, train, mining.withBatchSize(batchSize)).verbalizer();
        }
        PromptClassifier clf = PromptClassifier.builder(model, tokenizer, t).verbalizer(v).softTokens(SOFT_TOKENS).seed(seed).build();
        if (training != null) {
            model.add(ADAPTER, training.method(), training.config().seed());
            List<PromptClassifier.Example> examples = new ArrayList<>(train.size());
            for (TextRecord r : train) examples.add(clf.example(r.fields(), r.label()));
            new Trainer<>(model, PromptClassifier.objective(), training.config()).fit(examples, null, null);
        }
        ClassificationReport tr = report(clf, trainFields, train), dr = report(clf, devFields, dev);
        return new Scored(c, v, tr.accuracy(), dr.accuracy(), dr.macroF1());
    }

    private ClassificationReport report(PromptClassifier clf, List<Map<String, String>> fields, List<TextRecord> records) {
        int[] predicted = clf.predict(fields, batchSize);
        int[] gold = records.stream().mapToInt(r -> clf.labelIndex(r.label())).toArray();
        return ClassificationReport.of(clf.labels(), gold, predicted);
    }

    // ------------------------------------------------------------------ the result

    /** The candidates ranked, best first, with how they were scored. */
    public static final class Result {
        private final List<Scored> ranking;
        private final Verbalizer verbalizer;
        private final VerbalizerSearch.Options mining;
        private final Training training;
        private final int trainRecords, devRecords;

        Result(List<Scored> ranking, Verbalizer verbalizer, VerbalizerSearch.Options mining, Training training, int trainRecords, int devRecords) {
            this.ranking = List.copyOf(ranking);
            this.verbalizer = verbalizer;
            this.mining = mining;
            this.training = training;
            this.trainRecords = trainRecords;
            this.devRecords = devRecords;
        }

        /** Every candidate, best first. */
        public List<Scored> ranking() {
            return ranking;
        }

        /** The best candidate. */
        public Scored best() {
            return ranking.get(0);
        }

        /** Whether each candidate was trained (few-shot) before it was scored. */
        public boolean trained() {
            return training != null;
        }

        private String how() {
            String t = training == null ? "zero-shot (no training)"
                    : "few-shot (" + training.method().peftType().toLowerCase(java.util.Locale.ROOT) + " trained per template, "
                    + (training.config().maxSteps() > 0 ? training.config().maxSteps() + " steps" : training.config().epochs() + " epoch(s)")
                    + ", learning rate " + training.config().learningRate() + ", seed " + training.config().seed() + ")";
            String v = verbalizer != null ? "verbalizer `" + Tables.code(verbalizer.spec()) + "`"
                    : "verbalizer mined per template (" + Tables.name(mining.criterion()) + ", " + mining.wordsPerClass() + " word(s) per label)";
            return t + ", " + v;
        }

        /** A Markdown report: how the candidates were scored and a table of the ranking. */
        public String toMarkdown() {
            StringBuilder sb = new StringBuilder();
            sb.append("Template search: ").append(ranking.size()).append(" candidates, ").append(how()).append("; ").append(trainRecords)
                    .append(" training records, ").append(devRecords).append(" dev records; ranked by dev accuracy, then dev macro-F1\n\n");
            boolean mined = verbalizer == null;
            sb.append("| rank | template | from |").append(mined ? " verbalizer |" : "").append(" train accuracy | dev accuracy | dev macro-F1 |\n");
            sb.append("|---:|---|---|").append(mined ? "---|" : "").append("---:|---:|---:|\n");
            for (int i = 0; i < ranking.size(); i++) {
                Scored s = ranking.get(i);
                sb.append("| ").append(i + 1).append(" | `").append(Tables.code(s.candidate().template().text())).append("` | ").append(Tables.cell(s.candidate().origin())).append(" |");
                if (mined) sb.append(" `").append(Tables.code(s.verbalizer().spec())).append("` |");
                sb.append(' ').append(Tables.num(s.trainAccuracy())).append(" | ").append(Tables.num(s.devAccuracy())).append(" | ").append(Tables.num(s.devMacroF1())).append(" |\n");
            }
            return sb.toString();
        }

        /**
         * The JSON form: {@code {"mode": "zero_shot" | "few_shot", "training": {"peft_type", "max_steps", "epochs",
         * "learning_rate", "seed"} (few-shot), "verbalizer": spec (null when mined), "mined_verbalizer": {"criterion",
         * "words_per_class"} (when mined), "train_records", "dev_records", "ranking": [{"rank", "template", "source",
         * "line", "verbalizer", "train_accuracy", "dev_accuracy", "dev_macro_f1"}], "best": template}}.
         */
        public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
            var n = io.peft4j.core.io.Json.MAPPER.createObjectNode();
            n.put("mode", training == null ? "zero_shot" : "few_shot");
            if (training != null) {
                var t = n.putObject("training");
                t.put("peft_type", training.method().peftType());
                t.put("max_steps", training.config().maxSteps());
                t.put("epochs", training.config().epochs());
                t.put("learning_rate", training.config().learningRate());
                t.put("seed", training.config().seed());
            }
            if (verbalizer != null) n.put("verbalizer", verbalizer.spec());
            else {
                n.putNull("verbalizer");
                var m = n.putObject("mined_verbalizer");
                m.put("criterion", Tables.name(mining.criterion()));
                m.put("words_per_class", mining.wordsPerClass());
            }
            n.put("train_records", trainRecords);
            n.put("dev_records", devRecords);
            var a = n.putArray("ranking");
            for (int i = 0; i < ranking.size(); i++) {
                Scored s = ranking.get(i);
                var o = a.addObject();
                o.put("rank", i + 1);
                o.put("template", s.candidate().template().text());
                o.put("source", s.candidate().source());
                o.put("line", s.candidate().line());
                o.put("verbalizer", s.verbalizer().spec());
                o.put("train_accuracy", s.trainAccuracy());
                o.put("dev_accuracy", s.devAccuracy());
                o.put("dev_macro_f1", s.devMacroF1());
            }
            n.put("best", best().candidate().template().text());
            return n;
        }

        @Override
        public String toString() {
            return "TemplateSearch.Result[best " + best().candidate().template().text() + "]";
        }
    }
}
