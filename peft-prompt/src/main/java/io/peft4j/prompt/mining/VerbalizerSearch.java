package io.peft4j.prompt.mining;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.Template;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Verbalizer search: the best label words for each class, taken from the whole vocabulary, for a template and
 * labelled (few-shot) records. The model runs once over the records; at each record's answer position the
 * log-softmax over the vocabulary gives {@code lp[i][v] = log p(v | x_i)} ({@link PromptClassifier#vocabularyLogProbs}).
 * Then, a pure function of that matrix and the labels ({@link #scoreTokens}):
 * <ol>
 * <li><b>Words.</b> Only tokens that are a whole word under the verbalizer's {@link Options#prefix() prefix} are
 * candidates: the token decodes to a word that tokenizes back to exactly that token ({@code " great"} -> one token),
 * so the mined verbalizer binds to the very tokens that were scored. This drops special tokens, WordPiece
 * continuations ({@code ##s}) and byte-level BPE tokens without the leading-space marker; words with fewer than
 * {@link Options#minLetters()} letters (punctuation, numbers) are dropped too, as PETAL's filter does
 * ({@link #wordTokens}).</li>
 * <li><b>Candidate pool</b> (LM-BFF's {@code select_likely_words}, PETAL's {@code _get_candidates}): per class c, the
 * {@link Options#candidatesPerClass()} words with the largest mean {@code lp} over c's records.</li>
 * <li><b>Score</b> of word v for class c ({@link Criterion}), with {@code mean_c} the mean over c's records and
 * {@code mean_rest} the mean over all other records:
 * <pre>
 * LOG_ODDS (PETAL):  mean_c f(lp[.][v]) - mean_rest f(lp[.][v]),  f(lp) = log p - log(1 - p)
 * LOG_PROB:          mean_c lp[.][v]    - mean_rest lp[.][v]
 * </pre>
 * LOG_ODDS is PETAL's normalised log-likelihood ratio divided by the number of other records (a constant per class,
 * so the ranking is PETAL's; dividing makes scores of different classes comparable).</li>
 * <li><b>One class per word:</b> a word in the pools of several classes belongs to the class it scores highest for
 * (ties: the earlier class); each class ranks the words it owns by score (ties: the smaller token id) and keeps the
 * first {@link Options#wordsPerClass()}.</li>
 * </ol>
 * Classes are the records' labels in sorted order (as {@link io.peft4j.core.data.Labels#of}).
 *
 * <pre>{@code
 * List<TextRecord> shots = Sampling.kShot(Datasets.load("opinion-words", Split.TRAIN), 16, 42);
 * VerbalizerSearch.Result r = VerbalizerSearch.search(model, tokenizer, Template.parse("{text}. It was {mask}."), shots,
 *         VerbalizerSearch.Options.defaults().withWordsPerClass(3));
 * Verbalizer v = r.verbalizer();          // e.g. negative=...;positive=...
 * String table = r.toMarkdown();
 * }</pre>
 */
public final class VerbalizerSearch {
    private static final Logger LOG = LoggerFactory.getLogger(VerbalizerSearch.class);

    private VerbalizerSearch() {
    }

    /** How a word's fit to a class is scored from the log-probabilities at the answer position. */
    public enum Criterion {
        /**
         * PETAL (Schick, Schmid and Schütze 2020, {@code petal.py} {@code log_likelihood_ratio} with
         * {@code normalize}): the mean log-odds {@code log p - log(1 - p)} over the class's records minus the mean
         * over the other records.
         */
        LOG_ODDS,
        /** The mean log-probability over the class's records minus the mean over the other records. */
        LOG_PROB
    }

    /**
     * Options of a verbalizer search.
     *
     * @param wordsPerClass      k, the words each class gets
     * @param criterion          the score ({@link Criterion})
     * @param candidatesPerClass the size of each class's candidate pool, its likeliest words; 0: every word
     * @param minLetters         words with fewer letters are not candidates (0: punctuation and numbers too)
     * @param prefix             the text before a word when it is tokenized, as {@link io.peft4j.prompt.verbalizer.Verbalizer#prefix()}
     * @param listed             how many ranked words per class the result reports (at least k are)
     * @param batchSize          records per forward pass
     */
    public record Options(int wordsPerClass, Criterion criterion, int candidatesPerClass, int minLetters, String prefix, int listed, int batchSize) {
        /** Checks the options: a value out of range is a {@link PeftException} naming it. */
        public Options {
            if (wordsPerClass < 1) throw new PeftException("words per class must be at least 1, not " + wordsPerClass);
            if (criterion == null) throw new PeftException("no criterion");
            if (candidatesPerClass < 0) throw new PeftException("candidates per class must be 0 (all words) or positive, not " + candidatesPerClass);
            if (candidatesPerClass > 0 && candidatesPerClass < wordsPerClass) {
                throw new PeftException("candidates per class (" + candidatesPerClass + ") must be at least the words per class (" + wordsPerClass + ")");
            }
            if (minLetters < 0) throw new PeftException("minimum letters must be 0 or more, not " + minLetters);
            if (prefix == null) throw new PeftException("no prefix (\"\" for none)");
            if (listed < 1) throw new PeftException("listed words must be at least 1, not " + listed);
            if (batchSize < 1) throw new PeftException("batch size must be positive, not " + batchSize);
        }

        /**
         * 3 words per class, {@link Criterion#LOG_ODDS}, pools of 100 words per class (LM-BFF's {@code k_likely}), words
         * of 2 letters or more (PETAL), prefix {@code " "}, 10 words listed, batches of 32.
         */
        public static Options defaults() {
            return new Options(3, Criterion.LOG_ODDS, 100, 2, " ", 10, 32);
        }

        /** With k words per class (the pool grows to k when it is smaller). */
        public Options withWordsPerClass(int k) {
            int pool = candidatesPerClass > 0 && candidatesPerClass < k ? k : candidatesPerClass;
            return new Options(k, criterion, pool, minLetters, prefix, listed, batchSize);
        }

        /** With the score {@code c}. */
        public Options withCriterion(Criterion c) {
            return new Options(wordsPerClass, c, candidatesPerClass, minLetters, prefix, listed, batchSize);
        }

        /** With pools of {@code m} words per class (0: every word). */
        public Options withCandidatesPerClass(int m) {
            return new Options(wordsPerClass, criterion, m, minLetters, prefix, listed, batchSize);
        }

        /** Words with fewer than {@code n} letters are not candidates (0: punctuation and numbers too). */
        public Options withMinLetters(int n) {
            return new Options(wordsPerClass, criterion, candidatesPerClass, n, prefix, listed, batchSize);
        }

        /** Words are tokenized with {@code p} in front ({@code ""}: as they are), as the verbalizer's prefix. */
        public Options withPrefix(String p) {
            return new Options(wordsPerClass, criterion, candidatesPerClass, minLetters, p, listed, batchSize);
        }

        /** The result lists the best {@code n} words per label (at least k). */
        public Options withListed(int n) {
            return new Options(wordsPerClass, criterion, candidatesPerClass, minLetters, prefix, n, batchSize);
        }

        /** {@code b} records per forward pass. */
        public Options withBatchSize(int b) {
            return new Options(wordsPerClass, criterion, candidatesPerClass, minLetters, prefix, listed, b);
        }
    }

    /**
     * A token's score for one class.
     *
     * @param token      the token id
     * @param score      its score ({@link Criterion}); larger fits the class better
     * @param meanLogProb       the mean {@code log p(token)} at the answer over the class's records
     * @param meanLogProbOthers the mean over the other records
     */
    public record TokenScore(int token, double score, double meanLogProb, double meanLogProbOthers) {
    }

    // ------------------------------------------------------------------ the search

    /**
     * Searches with a vocabulary-only classifier of {@code template} on {@code model} (see
     * {@link #search(PromptClassifier, List, Options)}); a template with soft tokens adds their adapter to the model, as
     * {@link PromptClassifier.Builder#build()} does.
     */
    public static Result search(PeftModel model, Tokenizer tokenizer, Template template, List<TextRecord> records, Options options) {
        return search(PromptClassifier.builder(model, tokenizer, template).vocabularyOnly().build(), records, options);
    }

    /**
     * Searches with the template, model and tokenizer of {@code classifier} (its verbalizer, if any, is not used):
     * runs the model over {@code records}, scores every word and picks {@link Options#wordsPerClass()} per class.
     * Faults (a record without a label or without a field the template reads, fewer than two labels, a class left
     * with fewer candidate words than asked) are one {@link PeftException}.
     */
    public static Result search(PromptClassifier classifier, List<TextRecord> records, Options options) {
        if (records.isEmpty()) throw new PeftException("verbalizer search: no records");
        List<Map<String, String>> fields = new ArrayList<>(records.size());
        List<String> labels = new ArrayList<>(records.size());
        for (TextRecord r : records) {
            if (r.label() == null) throw r.error("no label (verbalizer search needs labelled records)");
            fields.add(r.fields());
            labels.add(r.label());
        }
        Set<String> distinct = new java.util.TreeSet<>(labels);
        if (distinct.size() < 2) {
            throw PeftException.inFile(records.get(0).source(), "verbalizer search needs records of at least two labels, these have only " + distinct);
        }
        Tokenizer tok = classifier.encoder().tokenizer();
        long t0 = System.nanoTime();
        double[][] lp = classifier.vocabularyLogProbs(fields, options.batchSize()).toDoubleMatrix();
        long t1 = System.nanoTime();
        Map<Integer, String> words = wordTokens(tok, lp[0].length, options);
        Result r = fromLogProbs(lp, labels, words, classifier.template().text(), options);
        LOG.info("verbalizer search: {} records, {} candidate words of {} tokens; model {} s, scoring {} s", records.size(), words.size(), lp[0].length,
                String.format(java.util.Locale.ROOT, "%.2f", (t1 - t0) / 1e9), String.format(java.util.Locale.ROOT, "%.2f", (System.nanoTime() - t1) / 1e9));
        return r;
    }

    /**
     * The search on log-probabilities already computed (a pure function): {@code logProbs[i]} is record i's
     * log-softmax over the vocabulary at the answer position, {@code labels.get(i)} its label, {@code words} the
     * candidate tokens and their words ({@link #wordTokens}); {@code template} is only reported.
     */
    public static Result fromLogProbs(double[][] logProbs, List<String> labels, Map<Integer, String> words, String template, Options options) {
        if (logProbs.length != labels.size()) throw new IllegalArgumentException(logProbs.length + " rows of log-probabilities for " + labels.size() + " labels");
        for (int i = 0; i < labels.size(); i++) if (labels.get(i) == null) throw new IllegalArgumentException("record " + i + " has no label");
        List<String> classes = new ArrayList<>(new java.util.TreeSet<>(labels));
        if (classes.size() < 2) throw new PeftException("verbalizer search needs records of at least two labels, these have only " + classes);
        int[] classOf = labels.stream().mapToInt(classes::indexOf).toArray();
        int[] tokens = words.keySet().stream().mapToInt(Integer::intValue).toArray();
        List<List<TokenScore>> ranked = scoreTokens(logProbs, classOf, classes.size(), tokens, options);
        for (int c = 0; c < classes.size(); c++) {
            if (ranked.get(c).size() < options.wordsPerClass()) {
                throw new PeftException("verbalizer search: label '" + classes.get(c) + "' is left with " + ranked.get(c).size() + " candidate words, fewer than the "
                        + options.wordsPerClass() + " words per class asked (" + (options.candidatesPerClass() == 0 ? "every word" : "its pool of the "
                        + options.candidatesPerClass() + " likeliest words") + ", less the words another label scores higher, of " + tokens.length
                        + " words in the vocabulary): lower the words per class" + (options.candidatesPerClass() == 0 ? "" : " or raise the candidates per class"));
            }
        }
        int[][] chosen = new int[classes.size()][];
        for (int c = 0; c < classes.size(); c++) chosen[c] = ranked.get(c).stream().limit(options.wordsPerClass()).mapToInt(TokenScore::token).toArray();
        return new Result(template, classes, counts(classOf, classes.size()), options, ranked, words, accuracy(logProbs, classOf, chosen));
    }

    /**
     * The candidate words of a tokenizer: token id -> word, for ids below {@code limit} (the model's vocabulary) whose
     * token, decoded and stripped, is a word with at least {@code options.minLetters()} letters that
     * {@code tokenizer.encodeText(options.prefix() + word)} turns into exactly that one token. The pad, mask and
     * unknown tokens and the tokenizer's special tokens are never words.
     */
    public static Map<Integer, String> wordTokens(Tokenizer tokenizer, int limit, Options options) {
        Set<Integer> special = new HashSet<>();
        for (int id : tokenizer.withSpecialTokens(new int[0], new int[0]).ids()) special.add(id);
        special.add(tokenizer.padId());
        special.add(tokenizer.maskId());
        special.add(tokenizer.tokenToId("[UNK]"));
        special.add(tokenizer.tokenToId("<unk>"));
        Map<Integer, String> out = new TreeMap<>();
        int n = Math.min(limit, tokenizer.vocabSize());
        for (int id = 0; id < n; id++) {
            if (special.contains(id)) continue;
            String word;
            try {
                word = tokenizer.decode(new int[]{id}, true).strip();
            } catch (RuntimeException e) {
                continue;                                   // an id the tokenizer has no token for (a gap in its vocabulary)
            }
            if (word.isEmpty() || word.chars().anyMatch(Character::isWhitespace) || letters(word) < options.minLetters()) continue;
            int[] back = tokenizer.encodeText(options.prefix() + word);
            if (back.length == 1 && back[0] == id) out.put(id, word);
        }
        return out;
    }

    private static int letters(String s) {
        return (int) s.codePoints().filter(Character::isLetter).count();
    }

    /**
     * The pure scoring step: for each class, the tokens it owns from its candidate pool, best first (see the class
     * comment for the pool, the criterion and the ownership rule).
     *
     * @param logProbs   {@code [N][V]} log-probabilities at the answer position
     * @param classOf    each record's class index, in {@code [0, classCount)}
     * @param classCount the number of classes; each must have a record
     * @param tokens     the candidate tokens (e.g. {@link #wordTokens}'s keys)
     * @param options    the criterion and the pool size are used
     */
    public static List<List<TokenScore>> scoreTokens(double[][] logProbs, int[] classOf, int classCount, int[] tokens, Options options) {
        int n = logProbs.length;
        if (n != classOf.length) throw new IllegalArgumentException(n + " rows of log-probabilities for " + classOf.length + " labels");
        int[] count = counts(classOf, classCount);
        for (int c = 0; c < classCount; c++) if (count[c] == 0) throw new IllegalArgumentException("class " + c + " has no records");
        int m = tokens.length;
        double[][] lpSum = new double[classCount][m], fSum = new double[classCount][m];
        double[] lpAll = new double[m], fAll = new double[m];
        for (int i = 0; i < n; i++) {
            double[] row = logProbs[i];
            int c = classOf[i];
            for (int j = 0; j < m; j++) {
                double lp = row[tokens[j]];
                double f = options.criterion() == Criterion.LOG_ODDS ? logOdds(lp) : lp;
                lpSum[c][j] += lp;
                fSum[c][j] += f;
                lpAll[j] += lp;
                fAll[j] += f;
            }
        }
        double[][] score = new double[classCount][m], in = new double[classCount][m], out = new double[classCount][m];
        for (int c = 0; c < classCount; c++) {
            int rest = n - count[c];
            for (int j = 0; j < m; j++) {
                in[c][j] = lpSum[c][j] / count[c];
                out[c][j] = (lpAll[j] - lpSum[c][j]) / rest;
                score[c][j] = fSum[c][j] / count[c] - (fAll[j] - fSum[c][j]) / rest;
            }
        }
        // pools: per class, the likeliest candidates (mean lp over the class's records; ties: the smaller token id)
        boolean[][] pooled = new boolean[classCount][m];
        for (int c = 0; c < classCount; c++) {
            Integer[] order = byDescending(in[c], tokens);
            int size = options.candidatesPerClass() == 0 ? m : Math.min(m, options.candidatesPerClass());
            for (int r = 0; r < size; r++) pooled[c][order[r]] = true;
        }
        // ownership: the pooled class with the largest score (ties: the earlier class)
        int[] owner = new int[m];
        for (int j = 0; j < m; j++) {
            owner[j] = -1;
            for (int c = 0; c < classCount; c++) if (pooled[c][j] && (owner[j] < 0 || score[c][j] > score[owner[j]][j])) owner[j] = c;
        }
        List<List<TokenScore>> out2 = new ArrayList<>(classCount);
        for (int c = 0; c < classCount; c++) {
            List<TokenScore> own = new ArrayList<>();
            for (int j = 0; j < m; j++) if (owner[j] == c) own.add(new TokenScore(tokens[j], score[c][j], in[c][j], out[c][j]));
            own.sort(Comparator.comparingDouble(TokenScore::score).reversed().thenComparingInt(TokenScore::token));
            out2.add(List.copyOf(own));
        }
        return out2;
    }

    /** {@code log p - log(1 - p)} from {@code lp = log p}; {@code 1 - p} is held at or above the smallest normal double. */
    static double logOdds(double lp) {
        return lp - Math.log(Math.max(-Math.expm1(lp), Double.MIN_NORMAL));
    }

    /** Indices into {@code values} by descending value, ties by ascending token id. */
    private static Integer[] byDescending(double[] values, int[] tokens) {
        Integer[] order = new Integer[values.length];
        for (int j = 0; j < order.length; j++) order[j] = j;
        Arrays.sort(order, (a, b) -> values[a] != values[b] ? Double.compare(values[b], values[a]) : Integer.compare(tokens[a], tokens[b]));
        return order;
    }

    private static int[] counts(int[] classOf, int classCount) {
        int[] count = new int[classCount];
        for (int c : classOf) {
            if (c < 0 || c >= classCount) throw new IllegalArgumentException("class index " + c + " outside [0, " + classCount + ")");
            count[c]++;
        }
        return count;
    }

    /**
     * The share of records whose largest class score is their class, a class's score being the mean {@code lp} of its
     * chosen tokens (the verbalizer's class score; ties: the earlier class).
     */
    static double accuracy(double[][] logProbs, int[] classOf, int[][] chosen) {
        int right = 0;
        for (int i = 0; i < logProbs.length; i++) {
            int best = -1;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < chosen.length; c++) {
                double s = 0;
                for (int t : chosen[c]) s += logProbs[i][t];
                s /= chosen[c].length;
                if (best < 0 || s > bestScore) {
                    best = c;
                    bestScore = s;
                }
            }
            if (best == classOf[i]) right++;
        }
        return (double) right / logProbs.length;
    }

    // ------------------------------------------------------------------ the result

    /** What a verbalizer search found: per class its ranked words with their scores, and the verbalizer of the best k. */
    public static final class Result {
        private final String template;
        private final List<String> labels;
        private final int[] records;
        private final Options options;
        private final List<List<TokenScore>> ranked;
        private final Map<Integer, String> words;
        private final double accuracy;

        Result(String template, List<String> labels, int[] records, Options options, List<List<TokenScore>> ranked, Map<Integer, String> words, double accuracy) {
            this.template = template;
            this.labels = List.copyOf(labels);
            this.records = records.clone();
            this.options = options;
            this.ranked = ranked;
            this.words = words;
            this.accuracy = accuracy;
        }

        /** One listed word of a class. */
        public record Word(String word, int token, double score, double meanLogProb, double meanLogProbOthers, boolean chosen) {
        }

        /** The template searched with, as written. */
        public String template() {
            return template;
        }

        /** The labels in class order (sorted). */
        public List<String> labels() {
            return labels;
        }

        /** The options searched with. */
        public Options options() {
            return options;
        }

        /** The records of each label, in class order. */
        public int[] recordsPerLabel() {
            return records.clone();
        }

        /** The best {@link Options#listed()} words of {@code label} (at least k), best first; the first k are chosen. */
        public List<Word> ranking(String label) {
            int c = labels.indexOf(label);
            if (c < 0) throw new PeftException("the search has no label '" + label + "' (its labels: " + labels + ")");
            List<TokenScore> r = ranked.get(c);
            int n = Math.min(r.size(), Math.max(options.listed(), options.wordsPerClass()));
            List<Word> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                TokenScore s = r.get(i);
                out.add(new Word(words.get(s.token()), s.token(), s.score(), s.meanLogProb(), s.meanLogProbOthers(), i < options.wordsPerClass()));
            }
            return out;
        }

        /** The k chosen words of {@code label}, best first. */
        public List<String> words(String label) {
            return ranking(label).stream().filter(Word::chosen).map(Word::word).toList();
        }

        /** The verbalizer of the chosen words (classes in sorted label order, the search's prefix), usable as it is. */
        public io.peft4j.prompt.verbalizer.Verbalizer verbalizer() {
            Map<String, List<String>> m = new LinkedHashMap<>();
            for (String l : labels) m.put(l, words(l));
            return io.peft4j.prompt.verbalizer.Verbalizer.of(m).withPrefix(options.prefix());
        }

        /** The chosen verbalizer as {@code label=word,word;...} ({@code --verbalizer}'s syntax). */
        public String spec() {
            return verbalizer().spec();
        }

        /**
         * The accuracy on the search's own records of the chosen verbalizer with no training (in-sample: the words
         * were chosen on these records, so it overstates the accuracy on new ones).
         */
        public double searchAccuracy() {
            return accuracy;
        }

        /** A Markdown report: the settings, a table of each label's ranked words, the verbalizer and its accuracy. */
        public String toMarkdown() {
            StringBuilder sb = new StringBuilder();
            sb.append("Verbalizer search: template `").append(Tables.code(template)).append("`, ");
            StringBuilder per = new StringBuilder();
            int total = 0;
            for (int c = 0; c < labels.size(); c++) {
                per.append(c == 0 ? "" : ", ").append(labels.get(c)).append(' ').append(records[c]);
                total += records[c];
            }
            sb.append(total).append(" records (").append(per).append("), criterion ").append(Tables.name(options.criterion()))
                    .append(", ").append(options.wordsPerClass()).append(" word(s) per label from ")
                    .append(options.candidatesPerClass() == 0 ? "every word" : "the " + options.candidatesPerClass() + " likeliest per label").append("\n\n");
            sb.append("| label | rank | word | token | score | mean log p (label) | mean log p (others) | chosen |\n");
            sb.append("|---|---:|---|---:|---:|---:|---:|:---:|\n");
            for (String l : labels) {
                List<Word> r = ranking(l);
                for (int i = 0; i < r.size(); i++) {
                    Word w = r.get(i);
                    sb.append("| ").append(Tables.cell(l)).append(" | ").append(i + 1).append(" | ").append(Tables.cell(w.word())).append(" | ").append(w.token())
                            .append(" | ").append(Tables.num(w.score())).append(" | ").append(Tables.num(w.meanLogProb())).append(" | ")
                            .append(Tables.num(w.meanLogProbOthers())).append(" | ").append(w.chosen() ? "yes" : "").append(" |\n");
                }
            }
            sb.append("\nVerbalizer: `").append(Tables.code(spec())).append("`; accuracy on these records (in-sample, no training): ")
                    .append(Tables.num(accuracy)).append('\n');
            return sb.toString();
        }

        /**
         * The JSON form: {@code {"template", "labels", "records_per_label", "criterion", "words_per_class",
         * "candidates_per_class", "min_letters", "prefix", "ranking": {label: [{"word", "token", "score",
         * "mean_log_prob", "mean_log_prob_others", "chosen"}]}, "verbalizer": {label: [words]}, "verbalizer_spec",
         * "search_accuracy"}}.
         */
        public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
            var n = io.peft4j.core.io.Json.MAPPER.createObjectNode();
            n.put("template", template);
            var ls = n.putArray("labels");
            labels.forEach(ls::add);
            var rp = n.putObject("records_per_label");
            for (int c = 0; c < labels.size(); c++) rp.put(labels.get(c), records[c]);
            n.put("criterion", Tables.name(options.criterion()));
            n.put("words_per_class", options.wordsPerClass());
            n.put("candidates_per_class", options.candidatesPerClass());
            n.put("min_letters", options.minLetters());
            n.put("prefix", options.prefix());
            var rk = n.putObject("ranking");
            for (String l : labels) {
                var a = rk.putArray(l);
                for (Word w : ranking(l)) {
                    var o = a.addObject();
                    o.put("word", w.word());
                    o.put("token", w.token());
                    o.put("score", w.score());
                    o.put("mean_log_prob", w.meanLogProb());
                    o.put("mean_log_prob_others", w.meanLogProbOthers());
                    o.put("chosen", w.chosen());
                }
            }
            n.set("verbalizer", verbalizer().toJson().get("labels"));
            n.put("verbalizer_spec", spec());
            n.put("search_accuracy", accuracy);
            return n;
        }

        @Override
        public String toString() {
            return "VerbalizerSearch.Result[" + spec() + "]";
        }
    }
}
