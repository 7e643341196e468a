package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.instruct.hyper.HyperLoraConfig;
import io.peft4j.instruct.prefix.InstructionPrefixConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The leave-one-cluster-out study on the tiny BERT and four tiny tasks in three clusters (polarity and rating are one
 * cluster): what each run trained on, recorded example by example from the trainer's batches, never includes a task
 * of the held-out cluster nor an instruction held out from training; every score the design calls for is there.
 */
class StudyTest {
    @TempDir
    static Path tmp;
    static TransformerModel base;
    static Tokenizer tok;
    static List<InstructTask> tasks;

    @BeforeAll
    static void load() throws Exception {
        Path dir = TinyInstruct.model(tmp);
        base = Models.load(dir, DataType.FLOAT);
        tok = Tokenizers.load(dir);
        tasks = List.of(TinyInstruct.task("polarity", 16, 8), TinyInstruct.task("rating", 16, 8), TinyInstruct.task("animal", 16, 8),
                TinyInstruct.task("size", 16, 8));
    }

    static StudyConfig.Builder tiny() {
        return StudyConfig.builder().method(LoraConfig.defaults().withR(2).withAlpha(4)).prefix(new InstructionPrefixConfig(2, 4))
                .hyper(new HyperLoraConfig(2, 4, null, 4)).steps(3).batchSize(4).maxLength(32).examplesPerTask(8).devExamples(6).seenDevExamples(4)
                .evalBatchSize(4).seed(3);
    }

    /** Records, per run, the tasks and instructions of every example the trainer saw. */
    static final class Recorder implements StudyListener {
        final Map<String, Set<String>> tasks = new LinkedHashMap<>(), instructions = new LinkedHashMap<>();
        final List<String> runs = new ArrayList<>();
        int total = -1;

        @Override
        public void onRun(String system, String heldOut, int index, int total) {
            assertThat(index).isEqualTo(runs.size());
            runs.add(system + "|" + heldOut);
            this.total = total;
        }

        @Override
        public void onTrainingBatch(String system, String heldOut, List<InstructExample> batch) {
            for (InstructExample e : batch) {
                tasks.computeIfAbsent(system + "|" + heldOut, k -> new LinkedHashSet<>()).add(e.task());
                assertThat(e.instruction().task()).isEqualTo(e.task());
                instructions.computeIfAbsent(system + "|" + heldOut, k -> new LinkedHashSet<>()).add(e.instruction().id());
            }
        }
    }

    /**
     * A study interrupted after some runs continues from its journal: the recorded runs are not trained again, and the
     * result equals the uninterrupted study's (every run draws from the config's seed alone). Another config's journal is refused.
     */
    @Test
    void aStudyContinuesFromItsJournalWithTheResultOfAnUninterruptedOne(@TempDir Path out) throws Exception {
        StudyConfig cfg = tiny().holdout("animal").schemes(List.of(Scheme.PROMPT, Scheme.HYPER)).build();
        StudyResult whole = Study.run(base, tok, "bert-tiny", tasks, cfg, StudyListener.NONE);

        Path journal = out.resolve("journal");
        int[] started = {0};
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, cfg, new StudyListener() {
            @Override
            public void onRun(String system, String heldOut, int index, int total) {
                if (index == 2) throw new IllegalStateException("interrupted");     // after the base and the supervised run
            }
        }, journal)).hasMessageContaining("interrupted");
        try (var files = java.nio.file.Files.list(journal)) {
            assertThat(files.map(f -> f.getFileName().toString()).sorted().toList()).containsExactly("base.json", "study.json", "supervised-animal--animal.json");
        }
        Recorder rec = new Recorder();
        StudyResult continued = Study.run(base, tok, "bert-tiny", tasks, cfg, rec, journal);
        assertThat(rec.tasks.keySet()).containsExactlyInAnyOrder("prompt|animal", "hyper|animal");       // only the runs not recorded trained
        assertThat(continued.toJson().get("scores")).isEqualTo(whole.toJson().get("scores"));
        assertThat(continued.toJson().get("runs").size()).isEqualTo(whole.toJson().get("runs").size());
        for (int i = 0; i < whole.runs().size(); i++) {
            assertThat(continued.runs().get(i).lastLoss()).isEqualTo(whole.runs().get(i).lastLoss());
        }
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, tiny().holdout("animal").steps(4).build(), StudyListener.NONE, journal))
                .isInstanceOf(PeftException.class).hasMessageContaining("study.json").hasMessageContaining("another study");

        // the time: each run's entry records it, and a continued study adds it to its own
        double recorded = 0;
        for (String f : List.of("base.json", "supervised-animal--animal.json", "prompt--animal.json", "hyper--animal.json")) {
            JsonNode entry = Json.read(journal.resolve(f));
            assertThat(entry.path("seconds").asDouble()).as(f).isPositive();
            recorded += entry.path("seconds").asDouble();
        }
        StudyResult again = Study.run(base, tok, "bert-tiny", tasks, cfg, StudyListener.NONE, journal);
        assertThat(again.untimedRuns()).isZero();
        assertThat(again.seconds()).isGreaterThanOrEqualTo(recorded);

        // changed data or instructions are another study, even with the same names and settings
        InstructTask animal = tasks.get(2);
        List<TextRecord> train = new ArrayList<>(animal.train());
        TextRecord first = train.get(0);
        train.set(0, new TextRecord(Map.of("text", first.fields().get("text") + " too"), first.label(), first.source(), first.line()));
        List<InstructTask> changed = List.of(tasks.get(0), tasks.get(1), InstructTask.of("animal", List.of("text"), train, animal.dev(), animal.instructions()),
                tasks.get(3));
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", changed, cfg, StudyListener.NONE, journal))
                .isInstanceOf(PeftException.class).hasMessageContaining("study.json").hasMessageContaining("instruction files or data differ");

        // a journal written before fingerprints and times were recorded is taken as it is, its runs counted as untimed
        ObjectNode id = (ObjectNode) Json.read(journal.resolve("study.json"));
        String inputs = id.remove("inputs").asText();
        Json.write(journal.resolve("study.json"), id);
        ObjectNode baseEntry = (ObjectNode) Json.read(journal.resolve("base.json"));
        baseEntry.remove("seconds");
        Json.write(journal.resolve("base.json"), baseEntry);
        StudyResult old = Study.run(base, tok, "bert-tiny", tasks, cfg, StudyListener.NONE, journal);
        assertThat(old.toJson().get("scores")).isEqualTo(whole.toJson().get("scores"));
        assertThat(old.untimedRuns()).isEqualTo(1);
        assertThat(old.toMarkdown()).contains("leaving out 1 run taken from a journal that did not record its time");
        assertThat(Json.read(journal.resolve("study.json")).path("inputs").asText()).isEqualTo(inputs);
    }

    @Test
    void leaveOneClusterOutNeverTrainsOnTheHeldOutTasks(@TempDir Path out) throws Exception {
        Recorder rec = new Recorder();
        StudyResult r = Study.run(base, tok, "bert-tiny", tasks, tiny().build(), rec);

        Map<String, List<String>> clusters = Map.of("film", List.of("polarity", "rating"), "animal", List.of("animal"), "size", List.of("size"));
        Set<String> trainIds = new LinkedHashSet<>();
        for (InstructTask t : tasks) t.instructions().split(2).train().forEach(i -> trainIds.add(i.id()));
        // base, 4 supervised runs, 3 clusters x 3 schemes
        assertThat(rec.total).isEqualTo(1 + 4 + 9);
        assertThat(rec.runs).hasSize(14);
        for (var c : clusters.entrySet()) {
            for (Scheme s : Scheme.values()) {
                Set<String> seen = rec.tasks.get(s.key() + "|" + c.getKey());
                assertThat(seen).as("%s with %s held out", s, c.getKey()).isNotEmpty().doesNotContainAnyElementsOf(c.getValue());
                assertThat(rec.instructions.get(s.key() + "|" + c.getKey())).isSubsetOf(trainIds);
            }
        }
        for (InstructTask t : tasks) assertThat(rec.tasks.get("supervised|" + t.cluster())).isNotNull();
        assertThat(rec.tasks.get("supervised|film")).containsExactlyInAnyOrder("polarity", "rating");   // one run each, both in cluster film
        assertThat(rec.tasks.get("supervised|animal")).containsExactly("animal");
        assertThat(rec.tasks).doesNotContainKey("base|null");

        // the runs record the same
        for (StudyResult.Run run : r.runs()) {
            assertThat(run.steps()).isEqualTo(3);
            assertThat(run.examplesPerTask().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(12);
            if (!run.system().equals(StudyResult.SUPERVISED)) assertThat(run.trainedOn()).doesNotContainAnyElementsOf(clusters.get(run.heldOut()));
            assertThat(run.trainableParams()).isPositive();
        }
        // every held-out task under each of its 3 test instructions, every seen task under one, for each scheme and held-out cluster
        for (var c : clusters.entrySet()) {
            for (Scheme s : Scheme.values()) {
                List<StudyResult.Score> sc = r.scores().stream().filter(x -> x.system().equals(s.key()) && x.heldOut().equals(c.getKey())).toList();
                assertThat(sc.stream().filter(x -> !x.seen()).map(StudyResult.Score::task).distinct()).containsExactlyInAnyOrderElementsOf(c.getValue());
                assertThat(sc.stream().filter(x -> !x.seen())).hasSize(3 * c.getValue().size())
                        .allSatisfy(x -> assertThat(trainIds).doesNotContain(x.instruction()))
                        .allSatisfy(x -> assertThat(x.n()).isEqualTo(6));
                assertThat(sc.stream().filter(StudyResult.Score::seen)).hasSize(4 - c.getValue().size())
                        .allSatisfy(x -> assertThat(x.instruction()).endsWith("/sentence-3"))
                        .allSatisfy(x -> assertThat(x.n()).isEqualTo(4));
            }
        }
        assertThat(r.scores().stream().filter(x -> x.system().equals(StudyResult.BASE))).hasSize(4 * 3);
        assertThat(r.scores().stream().filter(x -> x.system().equals(StudyResult.SUPERVISED))).hasSize(4 * 3);
        assertThat(r.mixture().keySet()).containsExactly("polarity", "rating", "animal", "size");

        String md = r.toMarkdown();
        assertThat(md).contains("### Held-out tasks", "### Instruction forms", "### Tasks seen in training", "### Trainable parameters and training",
                "| polarity | film | 6 |", "| size | size | 6 |", "| prompt |", "| hyper |",
                // LoRA r 2 on query, value: 4 sites of 2·(32 + 32); prefix P 2, k 4: 2·32 + 4·32 + 4 + 128·4 + 128; the hypernetwork
                // r 2, k 4: 4·32 + 4 + 4·4 + (2·32 + 32·2)·5
                "| trainable parameters | | | | 0 | 512 | 836 | 788 | 512 |");
        assertThat(StudyReport.markdown(Json.parse("results.json", r.toJson().toString()))).isEqualTo(md);
        r.write(out);
        assertThat(Files.readString(out.resolve("results.md"))).isEqualTo(md);
        JsonNode json = Json.read(out.resolve("results.json"));
        assertThat(json.path("scores").get(0).has("macro_f1")).isTrue();
        assertThat(json.path("runs").get(0).has("trainable_params")).isTrue();
        try (var s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("results.json", "results.md");     // no temporary files left
        }
    }

    @Test
    void holdingOutOneTaskHoldsOutItsCluster() {
        Recorder rec = new Recorder();
        StudyResult r = Study.run(base, tok, "bert-tiny", tasks, tiny().holdout("rating").schemes(List.of(Scheme.HYPER)).build(), rec);
        assertThat(rec.runs).containsExactly("base|null", "supervised|film", "supervised|film", "hyper|film");
        assertThat(rec.tasks.get("hyper|film")).doesNotContain("polarity", "rating");
        assertThat(r.scores().stream().filter(x -> x.system().equals("hyper") && !x.seen()).map(StudyResult.Score::task).distinct())
                .containsExactlyInAnyOrder("polarity", "rating");
        // the base model: the held-out cluster under every test instruction, the others under one
        assertThat(r.scores().stream().filter(x -> x.system().equals(StudyResult.BASE))).hasSize(2 * 3 + 2);
    }

    @Test
    void badSettingsFailBeforeAnythingTrains() {
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, tiny().holdout("imdb").build(), StudyListener.NONE)).isInstanceOf(PeftException.class)
                .hasMessage("holdout 'imdb' is not one of the tasks (polarity, rating, animal, size) or 'all'");
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks.subList(0, 2), tiny().build(), StudyListener.NONE)).isInstanceOf(PeftException.class)
                .hasMessage("the tasks form one cluster [film]: holding it out leaves nothing to train on");
        Recorder rec = new Recorder();
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, tiny().maxLength(14).build(), rec)).isInstanceOf(PeftException.class)
                .hasMessageContaining("tiny/polarity.json: instructions[4]").hasMessageContaining("(max length 14)");
        assertThat(rec.runs).isEmpty();
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, tiny().maxLength(39).build(), StudyListener.NONE)).isInstanceOf(PeftException.class)
                .hasMessage("max length 39 plus the 2 virtual positions of the prefix scheme's module exceeds the model's 40 positions");
        assertThatThrownBy(() -> Study.run(base, tok, "bert-tiny", tasks, tiny().trainInstructions(4).build(), StudyListener.NONE)).isInstanceOf(PeftException.class)
                .hasMessageContaining("polarity.json: task 'polarity' has 3 sentence-style instructions, and 4 are to be trained on");
    }
}
