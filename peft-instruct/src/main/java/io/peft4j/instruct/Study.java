package io.peft4j.instruct;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.Mixture;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Multi-task instruction tuning measured as FLAN measures it, on an encoder: hold out a whole task cluster, tune on
 * the others' tasks phrased as instructions, and score the held-out tasks zero-shot under instructions never trained
 * on. For each held-out cluster and each {@link Scheme}, one run; beside them the frozen model with the same
 * instructions (the base) and the template scheme trained on each held-out task alone (the supervised upper bound).
 *
 * <ol>
 *   <li>Per task: a stratified sample of {@link StudyConfig#examplesPerTask} training records to draw from, and of
 *       {@link StudyConfig#devExamples} (held out) and {@link StudyConfig#seenDevExamples} (seen) dev records to score; its
 *       instructions split into the first {@link StudyConfig#trainInstructions} sentence-style phrasings (trained on) and
 *       the rest (tested on: other phrasings, the bare name, the paragraph).</li>
 *   <li>Each training run draws {@code steps × batchSize} examples: the task from the {@link Mixture} of the tasks it
 *       trains on (weights from their training-split sizes, capped), the record next from that task's shuffled sample,
 *       the instruction uniformly from the task's training phrasings.</li>
 *   <li>Held-out tasks are scored under every test instruction; tasks seen in training under their first.</li>
 * </ol>
 *
 * <pre>{@code
 * List<InstructTask> tasks = InstructTask.builtins(InstructTask.builtinNames(), Map.of());
 * StudyResult r = Study.run(bert, tokenizer, "bert-base-uncased", tasks, StudyConfig.defaults(), StudyListener.NONE);
 * r.write(Path.of("instruct-results"));     // results.json, results.md
 * }</pre>
 */
public final class Study {
    private static final Logger LOG = LoggerFactory.getLogger(Study.class);

    private Study() {
    }

    /** A task with its samples and instruction split. */
    private record Prepared(InstructTask task, InstructionSet.Split split, List<TextRecord> pool, List<TextRecord> dev, List<TextRecord> seenDev) {
    }

    /**
     * Runs the study on {@code base} (its adapters are installed and removed again, one run at a time). Bad input (a
     * holdout that names no task, one cluster only, instructions that do not fit the tokenizer or the length) fails
     * before anything trains.
     */
    public static StudyResult run(TransformerModel base, Tokenizer tokenizer, String modelName, List<InstructTask> tasks, StudyConfig cfg,
                                  StudyListener listener) {
        return run(base, tokenizer, modelName, tasks, cfg, listener, null);
    }

    /**
     * {@link #run(TransformerModel, Tokenizer, String, List, StudyConfig, StudyListener)} that records each finished run
     * (its training summary, scores and time) in {@code journal} and, run again with the same model, tasks, config,
     * instructions and records, takes the runs recorded there instead of running them again: an interrupted study
     * continues where it stopped. Every run draws its examples and initialises its adapter from the config's seed alone,
     * so a continued study gives the result of an uninterrupted one; its time is its own plus the recorded runs'. A
     * journal of another model, task list, config, or other instructions or records (a SHA-256 of them) is refused,
     * naming its file.
     */
    public static StudyResult run(TransformerModel base, Tokenizer tokenizer, String modelName, List<InstructTask> tasks, StudyConfig cfg,
                                  StudyListener listener, Path journal) {
        long t0 = System.nanoTime();
        if (tasks.isEmpty()) throw new PeftException("no tasks");
        Map<String, List<InstructTask>> clusters = new LinkedHashMap<>();
        for (InstructTask t : tasks) clusters.computeIfAbsent(t.cluster(), k -> new ArrayList<>()).add(t);
        if (clusters.size() < 2) throw new PeftException("the tasks form one cluster " + clusters.keySet() + ": holding it out leaves nothing to train on");
        List<String> heldOut;
        if (cfg.holdout().equals(StudyConfig.ALL)) {
            heldOut = new ArrayList<>(clusters.keySet());
        } else {
            InstructTask t = tasks.stream().filter(x -> x.name().equals(cfg.holdout())).findFirst().orElseThrow(() -> new PeftException(
                    "holdout '" + cfg.holdout() + "' is not one of the tasks (" + String.join(", ", tasks.stream().map(InstructTask::name).toList()) + ") or 'all'"));
            heldOut = List.of(t.cluster());
        }

        PeftModel model = PeftModel.of(base, modelName);
        checkPositions(base, cfg);
        Map<String, Prepared> prepared = new LinkedHashMap<>();
        for (InstructTask t : tasks) {
            InstructionSet.Split split = t.instructions().split(cfg.trainInstructions());
            t.instructions().checkTokenizer(tokenizer);
            prepared.put(t.name(), new Prepared(t, split, sample(t.train(), cfg.examplesPerTask(), cfg.seed()), sample(t.dev(), cfg.devExamples(), cfg.seed()),
                    sample(t.dev(), cfg.seenDevExamples(), cfg.seed() + 1)));
        }
        checkFits(model, tokenizer, prepared.values(), cfg);
        Journal log = journal == null ? null : Journal.open(journal, modelName, tasks, cfg.toMap());
        Timing timing = new Timing();

        List<StudyResult.Score> scores = new ArrayList<>();
        List<StudyResult.Run> runs = new ArrayList<>();
        List<StudyResult.TaskInfo> infos = new ArrayList<>();
        for (Prepared p : prepared.values()) infos.add(info(p));
        Map<String, Integer> sizes = new LinkedHashMap<>();
        for (InstructTask t : tasks) sizes.put(t.name(), t.train().size());
        Mixture all = Mixture.of(sizes, cfg.mixingCap(), cfg.temperature());

        List<InstructTask> scored = tasks.stream().filter(t -> heldOut.contains(t.cluster())).toList();
        int total = (cfg.base() ? 1 : 0) + (cfg.supervised() ? scored.size() : 0) + heldOut.size() * cfg.schemes().size(), index = 0;

        if (cfg.base() && restored(log, StudyResult.BASE, null, runs, scores, listener, index++, total, timing)) {
            // taken from the journal
        } else if (cfg.base()) {
            long start = System.nanoTime();
            InstructionModel im = InstructionModel.base(model, tokenizer, cfg.maxLength());
            int first = scores.size();
            for (InstructTask t : tasks) {
                Prepared p = prepared.get(t.name());
                if (heldOut.contains(t.cluster())) {
                    for (Instruction i : p.split().eval()) scores.add(score(im, StudyResult.BASE, null, p, i, false, p.dev(), cfg, listener));
                } else {
                    scores.add(score(im, StudyResult.BASE, null, p, p.split().eval().get(0), false, p.seenDev(), cfg, listener));
                }
            }
            record(log, StudyResult.BASE, null, null, scores.subList(first, scores.size()), start);
        }
        if (cfg.supervised()) {
            for (InstructTask t : scored) {
                if (restored(log, StudyResult.SUPERVISED + "-" + t.name(), t.cluster(), runs, scores, listener, index++, total, timing)) continue;
                long start = System.nanoTime();
                Prepared p = prepared.get(t.name());
                List<InstructExample> examples = draw(List.of(p), Mixture.of(Map.of(t.name(), t.train().size()), cfg.mixingCap(), cfg.temperature()),
                        cfg.steps() * cfg.batchSize(), cfg.seed());
                try (InstructionModel im = InstructionModel.create(Scheme.PROMPT, model, tokenizer, cfg.method(), cfg.maxLength(), cfg.seed())) {
                    StudyResult.Run run = train(im, StudyResult.SUPERVISED, t.cluster(), examples, cfg.learningRate(), cfg, listener);
                    runs.add(run);
                    int first = scores.size();
                    for (Instruction i : p.split().eval()) scores.add(score(im, StudyResult.SUPERVISED, t.cluster(), p, i, false, p.dev(), cfg, listener));
                    record(log, StudyResult.SUPERVISED + "-" + t.name(), t.cluster(), run, scores.subList(first, scores.size()), start);
                }
            }
        }
        for (String cluster : heldOut) {
            List<Prepared> seen = new ArrayList<>(), unseen = new ArrayList<>();
            for (InstructTask t : tasks) (t.cluster().equals(cluster) ? unseen : seen).add(prepared.get(t.name()));
            Map<String, Integer> seenSizes = new LinkedHashMap<>();
            for (Prepared p : seen) seenSizes.put(p.task().name(), p.task().train().size());
            Mixture mixture = Mixture.of(seenSizes, cfg.mixingCap(), cfg.temperature());
            List<InstructExample> examples = draw(seen, mixture, cfg.steps() * cfg.batchSize(), cfg.seed());
            for (Scheme scheme : cfg.schemes()) {
                if (restored(log, scheme.key(), cluster, runs, scores, listener, index++, total, timing)) continue;
                long start = System.nanoTime();
                try (InstructionModel im = InstructionModel.create(scheme, model, tokenizer, config(scheme, cfg), cfg.maxLength(), cfg.seed())) {
                    StudyResult.Run run = train(im, scheme.key(), cluster, examples, cfg.learningRate(scheme), cfg, listener);
                    runs.add(run);
                    int first = scores.size();
                    for (Prepared p : unseen) {
                        for (Instruction i : p.split().eval()) scores.add(score(im, scheme.key(), cluster, p, i, false, p.dev(), cfg, listener));
                    }
                    for (Prepared p : seen) scores.add(score(im, scheme.key(), cluster, p, p.split().eval().get(0), true, p.seenDev(), cfg, listener));
                    record(log, scheme.key(), cluster, run, scores.subList(first, scores.size()), start);
                    listener.onTrained(scheme.key(), cluster, im, unseen.stream().flatMap(p -> p.split().eval().stream()).toList());
                }
            }
        }
        return new StudyResult(modelName, cfg.toMap(), infos, all.weights(), runs, scores, (System.nanoTime() - t0) / 1e9 + timing.journalSeconds,
                timing.untimed);
    }

    /** The time of the runs taken from the journal: what their entries recorded, and how many recorded none. */
    private static final class Timing {
        double journalSeconds;
        int untimed;
    }

    /**
     * Tells the listener run {@code index} starts and, when the journal holds it, adds its recorded run, scores and time
     * and returns true (the caller skips it).
     */
    private static boolean restored(Journal log, String unit, String heldOut, List<StudyResult.Run> runs, List<StudyResult.Score> scores,
                                    StudyListener listener, int index, int total, Timing timing) {
        String system = unit.startsWith(StudyResult.SUPERVISED) ? StudyResult.SUPERVISED : unit;
        listener.onRun(system, heldOut, index, total);
        Journal.Entry e = log == null ? null : log.read(unit, heldOut);
        if (e == null) return false;
        LOG.info("{} (held out {}): taken from the journal", unit, heldOut);
        if (e.run() != null) runs.add(e.run());
        scores.addAll(e.scores());
        e.scores().forEach(listener::onScore);
        if (e.seconds() == null) timing.untimed++;
        else timing.journalSeconds += e.seconds();
        return true;
    }

    /** Records a finished run that started at {@code start} (nanoTime) in the journal. */
    private static void record(Journal log, String unit, String heldOut, StudyResult.Run run, List<StudyResult.Score> scores, long start) {
        if (log != null) log.write(unit, heldOut, new Journal.Entry(run, List.copyOf(scores), (System.nanoTime() - start) / 1e9));
    }

    private static PeftConfig config(Scheme s, StudyConfig cfg) {
        return switch (s) {
            case PROMPT -> cfg.method();
            case PREFIX -> cfg.prefix();
            case HYPER -> cfg.hyper();
        };
    }

    /**
     * Fails when a scheme's rendered input and the positions its module prepends (a prefix's, a prompt method's virtual
     * tokens) would not fit the model's positions.
     */
    private static void checkPositions(TransformerModel base, StudyConfig cfg) {
        var c = base.config();
        var info = PeftConfig.BaseInfo.of(c, c.modelType());
        List<Scheme> schemes = new ArrayList<>(cfg.schemes());
        if (cfg.supervised() && !schemes.contains(Scheme.PROMPT)) schemes.add(Scheme.PROMPT);
        for (Scheme s : schemes) {
            int virtual = config(s, cfg).toJson(info).path("num_virtual_tokens").asInt(0);
            if (cfg.maxLength() + virtual > c.maxPositions()) {
                throw new PeftException("max length " + cfg.maxLength() + (virtual > 0 ? " plus the " + virtual + " virtual positions of the " + s.key() + " scheme's module" : "")
                        + " exceeds the model's " + c.maxPositions() + " positions");
            }
        }
    }

    /** A stratified sample of {@code n} records (all of them when there are no more). */
    private static List<TextRecord> sample(List<TextRecord> records, int n, long seed) {
        return n >= records.size() ? records : Sampling.stratifiedSubset(records, n, seed);
    }

    /** Builds every classifier the study will use, so that a template longer than the max length fails before any training. */
    private static void checkFits(PeftModel model, Tokenizer tokenizer, java.util.Collection<Prepared> prepared, StudyConfig cfg) {
        InstructionModel im = InstructionModel.base(model, tokenizer, cfg.maxLength());
        for (Prepared p : prepared) {
            for (Instruction i : p.task().instructions().instructions()) {
                try {
                    im.classifier(i);
                } catch (PeftException e) {
                    throw e.with("max length " + cfg.maxLength());
                }
            }
        }
    }

    /**
     * {@code n} training examples drawn as the class comment says: tasks from {@code mixture}, records in turn from each
     * task's sample (reshuffled whenever it is used up), instructions uniformly from the task's training phrasings.
     */
    static List<InstructExample> draw(List<Prepared> tasks, Mixture mixture, int n, long seed) {
        Map<String, Prepared> byName = new LinkedHashMap<>();
        for (Prepared p : tasks) byName.put(p.task().name(), p);
        int[] picks = mixture.sample(n, seed);
        Random rnd = new Random(seed * 31 + 7);
        Map<String, List<TextRecord>> order = new LinkedHashMap<>();
        Map<String, Integer> cursor = new LinkedHashMap<>();
        List<InstructExample> out = new ArrayList<>(n);
        for (int pick : picks) {
            String name = mixture.tasks().get(pick);
            Prepared p = byName.get(name);
            int at = cursor.getOrDefault(name, 0);
            List<TextRecord> o = order.get(name);
            if (o == null || at == o.size()) {
                o = new ArrayList<>(p.pool());
                Collections.shuffle(o, rnd);
                order.put(name, o);
                at = 0;
            }
            TextRecord r = o.get(at);
            cursor.put(name, at + 1);
            List<Instruction> train = p.split().train();
            Instruction ins = train.get(rnd.nextInt(train.size()));
            out.add(InstructExample.of(name, ins, r.fields(), Labels.of(List.of(r)).get(0)));
        }
        return out;
    }

    private static StudyResult.Run train(InstructionModel im, String system, String heldOut, List<InstructExample> examples, double lr, StudyConfig cfg,
                                         StudyListener listener) {
        im.observe(batch -> listener.onTrainingBatch(system, heldOut, batch));
        TrainingConfig tc = TrainingConfig.defaults().withLearningRate(lr).withBatchSize(cfg.batchSize(), 1).withEpochs(1)
                .withMaxSteps(cfg.steps()).withWarmup(Math.max(1, cfg.steps() / 10), Schedule.LINEAR).withSeed(cfg.seed());
        long t0 = System.nanoTime();
        TrainingResult r = im.train(examples, tc, new TrainingListener() {
            @Override
            public void onStep(Progress p) {
                listener.onStep(p);
            }
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        Map<String, Integer> perTask = new LinkedHashMap<>();
        for (InstructExample e : examples) perTask.merge(e.task(), 1, Integer::sum);
        LOG.info("{} (held out {}): {} steps, loss {} -> {}, {} s", system, heldOut, r.steps(), r.losses().isEmpty() ? Double.NaN : r.losses().get(0),
                r.lastLoss(), Math.round(secs));
        return new StudyResult.Run(system, heldOut, new ArrayList<>(perTask.keySet()), perTask, im.trainableParameters(), r.steps(),
                r.losses().isEmpty() ? Double.NaN : r.losses().get(0), r.lastLoss(), secs);
    }

    private static StudyResult.Score score(InstructionModel im, String system, String heldOut, Prepared p, Instruction i, boolean seen,
                                           List<TextRecord> records, StudyConfig cfg, StudyListener listener) {
        ClassificationReport r = im.evaluate(i, records, cfg.evalBatchSize());
        StudyResult.Score s = new StudyResult.Score(system, heldOut, p.task().name(), seen, i.id(), i.form().key(), r.accuracy(), r.macroF1(), r.n());
        listener.onScore(s);
        LOG.info("{} (held out {}) {} {}: accuracy {}", system, heldOut, p.task().name(), i.id(), r.accuracy());
        return s;
    }

    private static StudyResult.TaskInfo info(Prepared p) {
        InstructTask t = p.task();
        String top = Labels.mostFrequent(t.train());
        List<String> labels = t.labels();
        int[] gold = io.peft4j.core.classify.TextClassifier.goldIndices(p.dev(), labels), pred = new int[gold.length];
        java.util.Arrays.fill(pred, labels.indexOf(top));
        ClassificationReport maj = ClassificationReport.of(labels, gold, pred);
        return new StudyResult.TaskInfo(t.name(), t.cluster(), labels, t.train().size(), p.pool().size(), p.dev().size(), p.seenDev().size(),
                maj.accuracy(), maj.macroF1(), p.split().train().stream().map(StudyResult.InstructionInfo::of).toList(),
                p.split().eval().stream().map(StudyResult.InstructionInfo::of).toList());
    }
}
