package io.peft4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The demo's orchestration on the tiny BERT fixture: every method, the reports, reruns, --force, and bad input. */
class DemoTest {
    /** Runs methods in this JVM and counts how often each ran; fails the methods named in {@code failing}. */
    static final class Counting implements MethodRunner {
        final Map<String, Integer> runs = new HashMap<>();
        final List<String> failing = new ArrayList<>();

        @Override
        public Row run(DemoMethod method, DemoContext ctx, Path planFile) {
            runs.merge(method.name(), 1, Integer::sum);
            if (failing.contains(method.name())) throw new PeftException("simulated failure of " + method.name());
            return method.run(ctx);
        }
    }

    static Demo.Config config(Path model, DemoTask task, Path out, List<DemoMethod> methods, boolean force, long seed) {
        return new Demo.Config(model.toString(), task, methods, false, out, force, seed, TinyTask.budget());
    }

    static Row row(Demo.Outcome o, String method) {
        return o.rows().stream().filter(r -> r.method().equals(method)).findFirst().orElseThrow();
    }

    @Test
    void everyMethodRunsAndTheTableJsonAndChartAreWritten(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp), out = tmp.resolve("out");
        Counting runner = new Counting();
        List<String> started = new ArrayList<>(), finished = new ArrayList<>();
        Demo.Outcome o = Demo.run(config(model, TinyTask.task(tmp), out, DemoMethods.ALL, false, 42), runner, new Demo.Listener() {
            @Override
            public void started(int index, int count, DemoMethod method) {
                started.add(index + "/" + count + " " + method.name());
            }

            @Override
            public void finished(int index, int count, Row row, boolean reused) {
                finished.add(row.method());
            }
        });
        assertThat(o.failed()).isEmpty();
        assertThat(started).containsExactly("1/11 majority", "2/11 tfidf", "3/11 zero-shot", "4/11 probe", "5/11 prompt", "6/11 ptuning", "7/11 prefix",
                "8/11 adapter", "9/11 lora", "10/11 ia3", "11/11 full");
        assertThat(finished).containsExactlyElementsOf(DemoMethods.names());
        assertThat(o.rows()).extracting(Row::method).containsExactlyElementsOf(DemoMethods.names());
        DemoSettings s = o.plan().settings();
        assertThat(s.trainExamples()).isEqualTo(16);                  // 8 of each label
        assertThat(s.devExamples()).isEqualTo(12);
        assertThat(s.maxLength()).isEqualTo(16);                      // "[CLS] good film w1x [SEP]" is 5 tokens: the floor of 16

        // the baselines against what the data makes them: 12/12 in train (a tie: 'neg', first in sorted order), 6/6 in dev
        assertThat(row(o, "majority").accuracy()).isEqualTo(0.5);
        assertThat(row(o, "majority").details().get("label")).isEqualTo("neg");
        assertThat(row(o, "tfidf").accuracy()).isEqualTo(1.0);        // 'good' and 'bad' separate the labels
        assertThat(row(o, "tfidf").trainableParams()).isEqualTo((7 + 1) * 2L);   // good, bad, film, w10..w13 (a sample of 8 of 12 has both of each label's)
        // parameter counts of bert-tiny (d 32, 2 layers, FFN 64) against each method's formula: every trained method has the same head,
        // so the difference to prompt tuning (4 x 32 embeddings) is the method's own
        long prompt = row(o, "prompt").trainableParams(), head = prompt - 4 * 32;
        assertThat(row(o, "lora").trainableParams() - head).isEqualTo(2L * 2 * 8 * (32 + 32));             // 2 layers x {query, value} x r (in + out)
        assertThat(row(o, "prefix").trainableParams() - head).isEqualTo(4L * 2 * 2 * 32);                  // n x {key, value} x layers x d
        assertThat(row(o, "ia3").trainableParams() - head).isEqualTo(2L * (32 + 32 + 32 + 64));            // key, value outputs; the inputs of both output.dense (d, FFN)
        assertThat(row(o, "adapter").trainableParams() - head).isEqualTo(2L * ((32 * 2 + 2) + (2 * 32 + 32)));  // d/16 = 2 units: down, up
        assertThat(row(o, "full").trainableParams()).isEqualTo(row(o, "full").allParams());
        assertThat(row(o, "probe").trainableParams()).isEqualTo((32 + 1) * 2L);
        assertThat(row(o, "zero-shot").trainableParams()).isZero();
        for (Row r : o.rows()) {
            assertThat(r.accuracy()).as(r.method()).isBetween(0.0, 1.0);
            assertThat(r.peakRssMb()).as(r.method()).isNull();       // in-process: not measured
            assertThat(r.key()).hasSize(32);
        }
        for (String m : List.of("prompt", "ptuning", "prefix", "adapter", "lora", "ia3", "full")) {
            assertThat(row(o, m).details().get("steps")).as(m).isEqualTo(6);
            assertThat(row(o, m).trainSeconds()).as(m).isPositive();
        }

        // the files
        for (String m : DemoMethods.names()) assertThat(out.resolve("rows/" + m + ".json")).as(m).isRegularFile();
        JsonNode json = Json.read(out.resolve("results.json"));
        assertThat(json.get("rows")).hasSize(11);
        assertThat(json.get("rows").get(1).get("dev_accuracy").asDouble()).isEqualTo(1.0);
        assertThat(json.get("plan").get("settings").get("steps").asInt()).isEqualTo(6);
        String md = Files.readString(out.resolve("results.md"));
        for (DemoMethod m : DemoMethods.ALL) assertThat(md).contains("| " + m.title() + " |");
        assertThat(md).contains("| method | trainable params | trainable % | dev accuracy | macro-F1 | training time | peak memory |", "results.png", "n/a");
        BufferedImage png = ImageIO.read(out.resolve("results.png").toFile());
        assertThat(png).isNotNull();
        assertThat(png.getWidth()).isEqualTo(1000);
        assertThat(png.getHeight()).isEqualTo(640);
        // what the chart draws: a labelled point per method that trains part of the model at (trainable %, accuracy) on
        // a log x axis, and each of the others (majority, TF-IDF, zero-shot) as a line across at its accuracy
        org.knowm.xchart.XYChart chart = Reports.chart(o.plan(), o.rows(), 1000, 640);
        assertThat(chart.getStyler().isXAxisLogarithmic()).isTrue();
        for (Row r : o.rows()) {
            boolean trains = List.of("probe", "prompt", "ptuning", "prefix", "adapter", "lora", "ia3", "full").contains(r.method());
            var series = chart.getSeries(trains ? Reports.title(r) : Reports.title(r) + String.format(java.util.Locale.ROOT, " (%.3f)", r.accuracy()));
            assertThat(series).as(r.method()).isNotNull();
            double[] x = series.getXData(), y = series.getYData();
            if (trains) {
                assertThat(x).as(r.method()).containsExactly(r.trainablePercent());
                assertThat(y).as(r.method()).containsExactly(r.accuracy());
            } else {
                assertThat(y).as(r.method()).containsExactly(r.accuracy(), r.accuracy());
                assertThat(x[0]).isLessThan(x[1]);
            }
        }
        assertThat(chart.getSeriesCollection()).hasSize(11);
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("rows", "plan.json", "results.md", "results.json", "results.png");
        }
    }

    @Test
    void aRerunSkipsFinishedMethodsForceRerunsThemAndOtherSettingsAreNotReused(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp), out = tmp.resolve("out");
        DemoTask task = TinyTask.task(tmp);
        List<DemoMethod> some = DemoMethods.parse("majority,tfidf,probe,lora");
        Counting runner = new Counting();
        runner.failing.add("probe");                                   // the run is "interrupted" at the probe
        Demo.Outcome first = Demo.run(config(model, task, out, some, false, 42), runner, new Demo.Listener() { });
        assertThat(first.ran()).containsExactly("majority", "tfidf", "lora");
        assertThat(first.failed()).singleElement().asString().contains("probe", "simulated failure");
        assertThat(out.resolve("rows/probe.json")).doesNotExist();
        assertThat(first.rows()).extracting(Row::method).containsExactly("majority", "tfidf", "lora");

        runner.failing.clear();
        List<String> reused = new ArrayList<>();
        Demo.Outcome second = Demo.run(config(model, task, out, some, false, 42), runner, new Demo.Listener() {
            @Override
            public void finished(int index, int count, Row row, boolean fromEarlier) {
                if (fromEarlier) reused.add(row.method());
            }
        });
        assertThat(second.ran()).containsExactly("probe");           // only the method that did not finish
        assertThat(reused).containsExactly("majority", "tfidf", "lora");
        assertThat(runner.runs).containsEntry("majority", 1).containsEntry("tfidf", 1).containsEntry("lora", 1).containsEntry("probe", 2);
        assertThat(row(second, "lora").accuracy()).isEqualTo(row(first, "lora").accuracy());
        assertThat(second.rows()).extracting(Row::method).containsExactly("majority", "tfidf", "probe", "lora");

        // a subset run reports every row made with the same settings
        Demo.Outcome third = Demo.run(config(model, task, out, DemoMethods.parse("majority"), false, 42), runner, new Demo.Listener() { });
        assertThat(third.ran()).isEmpty();
        assertThat(third.rows()).extracting(Row::method).containsExactly("majority", "tfidf", "probe", "lora");

        Demo.Outcome forced = Demo.run(config(model, task, out, some, true, 42), runner, new Demo.Listener() { });
        assertThat(forced.ran()).containsExactly("majority", "tfidf", "probe", "lora");
        assertThat(runner.runs).containsEntry("majority", 2).containsEntry("lora", 2).containsEntry("probe", 3);
        // seeded: the same numbers again
        assertThat(row(forced, "lora").accuracy()).isEqualTo(row(first, "lora").accuracy());

        // another seed is another comparison: nothing is reused, and the report holds only its rows
        Demo.Outcome other = Demo.run(config(model, task, out, DemoMethods.parse("majority,tfidf"), false, 7), runner, new Demo.Listener() { });
        assertThat(other.ran()).containsExactly("majority", "tfidf");
        assertThat(other.rows()).extracting(Row::method).containsExactly("majority", "tfidf");
    }

    @Test
    void aPromptFromFilesScoresAsTheSamePromptWrittenOutAndItsContentKeysTheRow(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp);
        DemoTask inline = TinyTask.task(tmp);
        Path t = tmp.resolve("template.json"), v = tmp.resolve("verbalizer.json");
        Template.parse(inline.template()).write(t);
        Verbalizer.parse(inline.verbalizer()).write(v);
        DemoTask files = new DemoTask(inline.name(), inline.train(), inline.dev(), inline.textFields(), inline.labelField(), t.toString(), v.toString());
        List<DemoMethod> zs = DemoMethods.parse("zero-shot");
        Demo.Outcome a = Demo.run(config(model, inline, tmp.resolve("a"), zs, false, 42), MethodRunner.inProcess(), new Demo.Listener() { });
        Demo.Outcome b = Demo.run(config(model, files, tmp.resolve("b"), zs, false, 42), MethodRunner.inProcess(), new Demo.Listener() { });
        assertThat(row(b, "zero-shot").details().get("dev_report")).isEqualTo(row(a, "zero-shot").details().get("dev_report"));
        // another verbalizer in the same file: the row is not reused
        Verbalizer.parse("pos=bad;neg=good").write(v);
        Demo.Outcome c = Demo.run(config(model, files, tmp.resolve("b"), zs, false, 42), MethodRunner.inProcess(), new Demo.Listener() { });
        assertThat(c.ran()).containsExactly("zero-shot");
    }

    @Test
    void forkedMethodsReportTheirPeakMemoryAndTheSameNumbersAsInProcess(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp);
        DemoTask task = TinyTask.task(tmp);
        List<DemoMethod> methods = DemoMethods.parse("tfidf,probe");
        List<String> stages = new ArrayList<>();
        Demo.Outcome forked = Demo.run(config(model, task, tmp.resolve("a"), methods, false, 42), MethodRunner.forked(), new Demo.Listener() {
            @Override
            public void progress(DemoMethod method, String stage, long done, long total) {
                if (done == total) stages.add(method.name() + " " + stage);
            }
        });
        assertThat(forked.failed()).isEmpty();
        Demo.Outcome local = Demo.run(config(model, task, tmp.resolve("b"), methods, false, 42), MethodRunner.inProcess(), new Demo.Listener() { });
        for (String m : List.of("tfidf", "probe")) {
            assertThat(row(forked, m).accuracy()).as(m).isEqualTo(row(local, m).accuracy());
            assertThat(row(forked, m).macroF1()).as(m).isEqualTo(row(local, m).macroF1());
            assertThat(row(forked, m).details().get("dev_report")).as(m).isEqualTo(row(local, m).details().get("dev_report"));
        }
        if (Files.isReadable(Path.of("/proc/self/status"))) {
            // a bare JVM holds more than 10 MB; the probe's also loads ND4J's native libraries and the model
            assertThat(row(forked, "tfidf").peakRssMb()).isBetween(10.0, 100_000.0);
            assertThat(row(forked, "probe").peakRssMb()).isGreaterThan(row(forked, "tfidf").peakRssMb());
        }
        assertThat(stages).contains("probe extract features", "probe evaluate", "tfidf evaluate");
        assertThat(tmp.resolve("a/logs/probe.log")).exists();
    }

    @Test
    void badInputGetsOneClearMessage(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp);
        DemoTask task = TinyTask.task(tmp);
        assertThatThrownBy(() -> DemoMethods.parse("lora,bogus")).isInstanceOf(PeftException.class)
                .hasMessage("--methods: 'bogus' is not a method (majority, tfidf, zero-shot, probe, prompt, ptuning, prefix, adapter, lora, ia3, full)");
        assertThatThrownBy(() -> DemoMethods.parse("lora,lora")).hasMessageContaining("'lora' is named twice");
        assertThatThrownBy(() -> DemoTask.builtin("nope")).isInstanceOf(PeftException.class)
                .hasMessageContaining("'nope' is not a built-in task (afinn-sentiment, name-gender, opinion-words, sotu, spam, stopword-language)");

        // an output "directory" under a file, and one that is a file
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThatThrownBy(() -> Demo.run(config(model, task, file.resolve("out"), DemoMethods.ALL, false, 1), new Counting(), new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining(file.resolve("out").toString()).hasMessageContaining("cannot be written");
        assertThatThrownBy(() -> Demo.run(config(model, task, file, DemoMethods.ALL, false, 1), new Counting(), new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining(file.toString()).hasMessageContaining("is a file");

        // a task with one class
        Path one = TinyTask.data(tmp.resolve("one.jsonl"), 10, "pos");
        DemoTask oneClass = DemoTask.files(one, tmp.resolve("dev.jsonl"), null, null, null, null);
        Counting runner = new Counting();
        assertThatThrownBy(() -> Demo.run(config(model, oneClass, tmp.resolve("o1"), DemoMethods.parse("majority,tfidf"), false, 1), runner,
                new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining(one.toString()).hasMessageContaining("one class (pos)");
        assertThat(runner.runs).isEmpty();

        // zero-shot without a prompt
        DemoTask noPrompt = DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, null, null);
        assertThatThrownBy(() -> Demo.run(config(model, noPrompt, tmp.resolve("o2"), DemoMethods.ALL, false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining("no zero-shot prompt");
        assertThatThrownBy(() -> DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, "{text} {mask}", null))
                .hasMessageContaining("both a template and a verbalizer");
        // label words for labels the data does not have; dev labels the training data lacks
        DemoTask wrongWords = DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, "{text} it was {mask} .", "pos=good;other=bad");
        assertThatThrownBy(() -> Demo.run(config(model, wrongWords, tmp.resolve("o4"), DemoMethods.ALL, false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining("zero-shot: ").hasMessageContaining("train.jsonl")
                .hasMessageContaining("label 'neg' has no words in the verbalizer");
        // a template without {mask}, one reading a second text field the data lacks, a prompt file that is not there: all before any method runs
        DemoTask noMask = DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, "{text} it was good .", "pos=good;neg=bad");
        assertThatThrownBy(() -> Demo.run(config(model, noMask, tmp.resolve("o6"), DemoMethods.ALL, false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageStartingWith("zero-shot: ").hasMessageContaining("'{text} it was good .'")
                .hasMessageContaining("has no {mask}");
        DemoTask pair = DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, "{text} {text_b} it was {mask} .", "pos=good;neg=bad");
        assertThatThrownBy(() -> Demo.run(config(model, pair, tmp.resolve("o7"), DemoMethods.ALL, false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageStartingWith("zero-shot: ").hasMessageContaining("has {text_b}, but the data has one text field");
        DemoTask noFile = DemoTask.files(tmp.resolve("train.jsonl"), tmp.resolve("dev.jsonl"), null, null, tmp.resolve("prompt.json").toString(), "pos=good;neg=bad");
        assertThatThrownBy(() -> Demo.run(config(model, noFile, tmp.resolve("o8"), DemoMethods.ALL, false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessage("zero-shot: " + tmp.resolve("prompt.json") + ": no such file");
        assertThat(runner.runs).isEmpty();
        Path devOther = Files.writeString(tmp.resolve("dev-other.jsonl"), "{\"text\": \"so so\", \"label\": \"meh\"}\n");
        DemoTask unseen = DemoTask.files(tmp.resolve("train.jsonl"), devOther, null, null, null, null);
        assertThatThrownBy(() -> Demo.run(config(model, unseen, tmp.resolve("o5"), DemoMethods.parse("majority"), false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining("dev-other.jsonl").hasMessageContaining("labels [meh] do not occur in the training data");
        assertThat(runner.runs).isEmpty();
        // a missing data file names itself
        DemoTask missing = DemoTask.files(tmp.resolve("nope.jsonl"), tmp.resolve("dev.jsonl"), null, null, null, null);
        assertThatThrownBy(() -> Demo.run(config(model, missing, tmp.resolve("o3"), DemoMethods.parse("majority"), false, 1), runner, new Demo.Listener() { }))
                .isInstanceOf(PeftException.class).hasMessageContaining("nope.jsonl");
    }

    /** Fails the running method (as a killed JVM would stop it) when its training reports step {@code step}. */
    static Demo.Listener interruptAtStep(long step) {
        return new Demo.Listener() {
            @Override
            public void progress(DemoMethod method, String stage, long done, long total) {
                if (stage.equals("train") && done == step) throw new IllegalStateException("interrupted at step " + step);
            }
        };
    }

    @Test
    void anInterruptedFullRunContinuesFromItsLastCheckpointAsTheUninterruptedRun(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp);
        DemoTask task = TinyTask.task(tmp);
        List<DemoMethod> lora = DemoMethods.parse("lora");
        java.util.function.BiFunction<String, Boolean, Demo.Config> full = (dir, force) ->
                new Demo.Config(model.toString(), task, lora, true, tmp.resolve(dir), force, 7, TinyTask.budget());
        Row whole = row(Demo.run(full.apply("whole", false), new Counting(), new Demo.Listener() { }), "lora");
        assertThat(whole.details().get("steps")).isEqualTo(6);                   // --full: 3 epochs of 24 in batches of 16
        assertThat(whole.details()).doesNotContainKey("resumed_at_step");
        assertThat(tmp.resolve("whole/checkpoints")).isEmptyDirectory();        // dropped once the row is saved

        // stopped while step 4 is reported: checkpoints come every step (a twentieth of 6, at least 1), so step 3's is the last
        Demo.Outcome stopped = Demo.run(full.apply("cut", false), new Counting(), interruptAtStep(4));
        assertThat(stopped.failed()).singleElement().asString().contains("interrupted at step 4");
        List<Path> dirs;
        try (var l = Files.list(tmp.resolve("cut/checkpoints"))) {
            dirs = l.toList();
        }
        assertThat(dirs).singleElement().satisfies(d -> assertThat(d.getFileName().toString()).matches("lora-[0-9a-f]{16}"));
        assertThat(Json.read(dirs.get(0).resolve("last/trainer_state.json")).get("step").asLong()).isEqualTo(3);
        assertThat(Json.read(dirs.get(0).resolve(DemoMethods.Resumed.FILE)).get("step").asLong()).isEqualTo(3);

        // the rerun continues at step 3 and ends where the uninterrupted run ended; its times count the 1000 s the
        // checkpoint says were spent before the interruption (written here, so that no run's own time can hide them)
        DemoMethods.Resumed.write(dirs.get(0), 3, 1000);
        Counting again = new Counting();
        Row resumed = row(Demo.run(full.apply("cut", false), again, new Demo.Listener() { }), "lora");
        assertThat(resumed.details().get("resumed_at_step")).isEqualTo(3);
        assertThat(resumed.details().get("steps")).isEqualTo(6);
        assertThat(resumed.details().get("final_loss")).isEqualTo(whole.details().get("final_loss"));
        assertThat(resumed.accuracy()).isEqualTo(whole.accuracy());
        assertThat(resumed.macroF1()).isEqualTo(whole.macroF1());
        assertThat(resumed.trainSeconds()).isGreaterThan(1000).isLessThan(1000 + whole.trainSeconds() + 60);
        assertThat(resumed.seconds()).as("the method's time holds its training time, the part before the interruption included")
                .isGreaterThanOrEqualTo(resumed.trainSeconds());
        assertThat(tmp.resolve("cut/checkpoints")).isEmptyDirectory();

        // --force starts afresh: an interrupted run's checkpoints are dropped, not continued
        Demo.run(full.apply("forced", false), new Counting(), interruptAtStep(4));
        Row afresh = row(Demo.run(full.apply("forced", true), new Counting(), new Demo.Listener() { }), "lora");
        assertThat(afresh.details()).doesNotContainKey("resumed_at_step");
        assertThat(afresh.details().get("final_loss")).isEqualTo(whole.details().get("final_loss"));

        // the default budget does not checkpoint: its methods take minutes
        Demo.run(config(model, task, tmp.resolve("budget"), lora, false, 7), new Counting(), interruptAtStep(4));
        assertThat(tmp.resolve("budget/checkpoints")).doesNotExist();
    }

    @Test
    void theDefaultBudgetScalesWithTheTextsAndFullUsesEverything(@TempDir Path tmp) throws Exception {
        Path model = TinyTask.model(tmp);
        DemoTask task = TinyTask.task(tmp);
        var tok = io.peft4j.core.tokenizer.Tokenizers.load(model);
        var train = task.loadTrain();
        var dev = task.loadDev();
        // 5-token texts: the floor of 16 tokens, half the default 32, so 2x the examples and steps (the data has only 12 per label)
        DemoSettings s = DemoSettings.choose(false, DemoSettings.Budget.defaults(), train, dev, task.spec(), tok, 512, 3);
        assertThat(s.maxLength()).isEqualTo(16);
        assertThat(s.steps()).isEqualTo(64);
        assertThat(s.trainExamples()).isEqualTo(24);
        assertThat(s.devExamples()).isEqualTo(12);
        assertThat(s.balanced()).isTrue();
        assertThat(s.learningRate("lora")).isEqualTo(1e-3);
        assertThat(s.describe(24, 12)).contains("a class-balanced sample of 24 of 24 training examples", "64 steps of 8", "lora 1e-03");
        DemoSettings f = DemoSettings.choose(true, DemoSettings.Budget.defaults(), train, dev, task.spec(), tok, 512, 3);
        assertThat(f.steps()).isZero();
        assertThat(f.epochs()).isEqualTo(3);
        assertThat(f.stepsFor(24)).isEqualTo(3 * 2);                  // batches of 16
        assertThat(f.balanced()).isFalse();
        assertThat(f.learningRate("full")).isEqualTo(2e-5);
        // the model's positions bound the length: 30 positions, 20 virtual tokens leave 10
        assertThat(DemoSettings.choose(true, DemoSettings.Budget.defaults(), train, dev, task.spec(), tok, 30, 3).maxLength()).isEqualTo(10);
        assertThatThrownBy(() -> DemoSettings.choose(false, DemoSettings.Budget.defaults(), train, dev, task.spec(), tok, 21, 3))
                .hasMessageContaining("too few for 20 virtual tokens");
        // a plan survives its file
        Plan p = new Plan("m", task, s);
        p.write(tmp.resolve("plan.json"));
        assertThat(Plan.read(tmp.resolve("plan.json"))).isEqualTo(p);
    }

    @Test
    void peakMemoryIsReadFromVmHwm(@TempDir Path tmp) throws Exception {
        Path status = Files.writeString(tmp.resolve("status"), "Name:\tjava\nVmPeak:\t 9000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n");
        assertThat(PeakMemory.megabytes(status)).isCloseTo(123456 * 1024 / 1e6, within(1e-9));
        assertThat(PeakMemory.megabytes(Files.writeString(tmp.resolve("none"), "Name:\tx\n"))).isNull();
        assertThat(PeakMemory.megabytes(tmp.resolve("missing"))).isNull();
    }
}
