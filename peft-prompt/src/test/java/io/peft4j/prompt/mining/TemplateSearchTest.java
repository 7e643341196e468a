package io.peft4j.prompt.mining;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.mining.TemplateCandidates.Candidate;
import io.peft4j.prompt.mining.TemplateSearch.Scored;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TemplateSearchTest {
    private static final List<TextRecord> TRAIN = MiningFixtures.records(true), DEV = MiningFixtures.records(false);

    private static List<Candidate> candidates(String... templates) {
        return TemplateCandidates.parse(List.of(templates), "candidates.txt");
    }

    /**
     * On the tiny BERT trained to answer great / terrible at {@code {text} it was {mask} .} (and the other way round at
     * {@code {mask} : {text}}), the zero-shot search ranks the planted template first though it is the last candidate,
     * and the swapped one last; the model is left as it was.
     */
    @Test
    void theTemplateWithThePlantedAnswerRanksFirst() {
        PeftModel m = MiningFixtures.planted();
        List<Candidate> cands = candidates("{mask} : {text}", "{mask} {text}", "the {mask} : {text}", "{text} all in all it was {mask} .", "{text} it was {mask} .");
        List<String> events = new ArrayList<>();
        TemplateSearch.Result r = TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS).batchSize(7)
                .listener(new TemplateSearch.Listener() {
                    @Override
                    public void started(int index, int total, Candidate c) {
                        events.add("start " + index + "/" + total + " " + c.line());
                    }

                    @Override
                    public void finished(int index, int total, Scored s) {
                        events.add("end " + index + "/" + total + " " + s.candidate().line());
                    }
                }).build().run(cands, TRAIN, DEV);
        assertThat(events).containsExactly("start 0/5 1", "end 0/5 1", "start 1/5 2", "end 1/5 2", "start 2/5 3", "end 2/5 3", "start 3/5 4", "end 3/5 4",
                "start 4/5 5", "end 4/5 5");
        assertThat(r.best().candidate().template().text()).isEqualTo("{text} it was {mask} .");
        assertThat(r.best().devAccuracy()).isEqualTo(1.0);
        assertThat(r.best().trainAccuracy()).isEqualTo(1.0);
        assertThat(r.ranking().get(4).candidate().template().text()).isEqualTo("{mask} : {text}");
        assertThat(r.ranking().get(4).devAccuracy()).isEqualTo(0.0);
        // dev accuracy falls along the ranking, macro-F1 breaking ties
        for (int i = 1; i < 5; i++) {
            Scored a = r.ranking().get(i - 1), b = r.ranking().get(i);
            assertThat(a.devAccuracy() > b.devAccuracy() || a.devAccuracy() == b.devAccuracy() && a.devMacroF1() >= b.devMacroF1()).isTrue();
        }
        // the scores are the classifier's own accuracy on the dev records
        for (Scored s : r.ranking()) {
            PromptClassifier clf = PromptClassifier.of(m, MiningFixtures.TOK, s.candidate().template(), MiningFixtures.PLANTED_WORDS);
            int[] p = clf.predict(DEV.stream().map(TextRecord::fields).toList(), 48);
            int right = 0;
            for (int i = 0; i < p.length; i++) if (clf.labels().get(p[i]).equals(DEV.get(i).label())) right++;
            assertThat(s.devAccuracy()).isEqualTo((double) right / DEV.size());
        }
        assertThat(m.adapters()).isEmpty();
        assertThat(r.trained()).isFalse();

        String md = r.toMarkdown();
        assertThat(md).startsWith("Template search: 5 candidates, zero-shot (no training), verbalizer `neg=terrible;pos=great`; 24 training records, 24 dev records;")
                .contains("| 1 | `{text} it was {mask} .` | candidates.txt:5 | 1.0000 | 1.0000 | 1.0000 |")
                .contains("| 5 | `{mask} : {text}` | candidates.txt:1 | 0.0000 | 0.0000 | 0.0000 |");
        JsonNode j = r.toJson();
        assertThat(j.get("mode").asText()).isEqualTo("zero_shot");
        assertThat(j.get("best").asText()).isEqualTo("{text} it was {mask} .");
        assertThat(j.get("verbalizer").asText()).isEqualTo("neg=terrible;pos=great");
        assertThat(j.at("/ranking/0/line").asInt()).isEqualTo(5);
        assertThat(j.at("/ranking/0/source").asText()).isEqualTo("candidates.txt");
        assertThat(j.at("/ranking/4/dev_accuracy").asDouble()).isEqualTo(0.0);
        assertThat(j.get("ranking")).hasSize(5);
    }

    /** With a verbalizer mined per template, the planted template gets the planted words and ranks first. */
    @Test
    void aVerbalizerMinedPerTemplateFindsThePlantedWords() {
        PeftModel m = MiningFixtures.planted();
        TemplateSearch.Result r = TemplateSearch.builder(m, MiningFixtures.TOK).mineVerbalizer(VerbalizerSearch.Options.defaults().withWordsPerClass(1)).build()
                .run(candidates("the {mask} : {text}", "{text} it was {mask} ."), TRAIN, DEV);
        assertThat(r.best().candidate().template().text()).isEqualTo("{text} it was {mask} .");
        assertThat(r.best().verbalizer().spec()).isEqualTo("neg=terrible;pos=great");
        assertThat(r.best().devAccuracy()).isEqualTo(1.0);
        assertThat(r.toMarkdown()).contains("verbalizer mined per template (log_odds, 1 word(s) per label)").contains("| `neg=terrible;pos=great` |");
        assertThat(r.toJson().get("verbalizer").isNull()).isTrue();
        assertThat(r.toJson().at("/mined_verbalizer/words_per_class").asInt()).isEqualTo(1);
    }

    /**
     * Few-shot: a fresh LoRA per template, trained with the same seed and budget; the scores are those of training
     * that template alone, the search repeats exactly, and the model is left as it was found.
     */
    @Test
    void fewShotTrainsEachTemplateFromTheSameStartAndLeavesTheModelAsItWas() {
        PeftModel m = MiningFixtures.tinyBert();
        List<Map<String, String>> probe = DEV.stream().limit(5).map(TextRecord::fields).toList();
        PromptClassifier vocab = PromptClassifier.builder(m, MiningFixtures.TOK, MiningFixtures.PLANTED).vocabularyOnly().build();
        INDArray before = vocab.vocabularyLogProbs(probe, 5).dup();
        LoraConfig lora = LoraConfig.defaults().withR(4);
        TrainingConfig cfg = TrainingConfig.defaults().withLearningRate(2e-2).withBatchSize(8, 1).withMaxSteps(30).withWarmup(0, Schedule.CONSTANT).withSeed(5);
        List<Candidate> cands = candidates("{text} it was {mask} .", "{mask} : {text}", "{text} {soft} {mask}");
        TemplateSearch search = TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS).fewShot(lora, cfg).build();
        TemplateSearch.Result r = search.run(cands, TRAIN, DEV);
        TemplateSearch.Result zero = TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS).build().run(cands, TRAIN, DEV);
        // measured: untrained, every template answers one class (0.5); trained, 1.0 / 1.0 / 0.92 on dev
        for (Scored s : zero.ranking()) assertThat(s.trainAccuracy()).isEqualTo(0.5);
        for (Scored s : r.ranking()) {
            assertThat(s.trainAccuracy()).as(s.candidate().origin()).isEqualTo(1.0);
            assertThat(s.devAccuracy()).as(s.candidate().origin()).isGreaterThan(0.85);
        }
        assertThat(m.adapters()).isEmpty();
        assertThat(vocab.vocabularyLogProbs(probe, 5)).isEqualTo(before);
        assertThat(search.run(cands, TRAIN, DEV).ranking()).isEqualTo(r.ranking());
        // the first candidate trained by hand: the same adapter, seed and budget
        PromptClassifier clf = PromptClassifier.of(m, MiningFixtures.TOK, MiningFixtures.PLANTED, MiningFixtures.PLANTED_WORDS);
        m.add("by_hand", lora, cfg.seed());
        List<PromptClassifier.Example> ex = new ArrayList<>();
        for (TextRecord t : TRAIN) ex.add(clf.example(t.fields(), t.label()));
        new io.peft4j.core.train.Trainer<>(m, PromptClassifier.objective(), cfg).fit(ex, null, null);
        int[] p = clf.predict(DEV.stream().map(TextRecord::fields).toList(), 32);
        int right = 0;
        for (int i = 0; i < p.length; i++) if (clf.labels().get(p[i]).equals(DEV.get(i).label())) right++;
        Scored first = r.ranking().stream().filter(s -> s.candidate().line() == 1).findFirst().orElseThrow();
        assertThat(first.devAccuracy()).isEqualTo((double) right / DEV.size());
        assertThat(r.toMarkdown()).contains("few-shot (lora trained per template, 30 steps, learning rate 0.02, seed 5)");
        assertThat(r.toJson().at("/training/max_steps").asInt()).isEqualTo(30);
        assertThat(r.trained()).isTrue();
    }

    // ------------------------------------------------------------------ candidates

    @Test
    void builtInCandidatesBindToAMaskedLmAndPairsUseBothTexts() {
        List<Candidate> single = TemplateCandidates.builtin(false), pairs = TemplateCandidates.builtin(true);
        assertThat(single).hasSize(18);
        assertThat(pairs).hasSize(11);
        for (Candidate c : single) {
            assertThat(c.template().hasMask()).as(c.origin()).isTrue();
            assertThat(c.template().slots()).as(c.origin()).containsExactly("text");
            assertThat(c.source()).isEqualTo("built-in:templates-single.txt");
        }
        for (Candidate c : pairs) {
            assertThat(c.template().hasMask()).as(c.origin()).isTrue();
            assertThat(c.template().slots()).as(c.origin()).containsExactlyInAnyOrder("text", "text_b");
        }
        assertThat(single.get(0).template().text()).isEqualTo("{text} It was {mask}.");
        // pairs stored under other field names: every built-in binds through the field mapping and is scored
        List<TextRecord> mail = new ArrayList<>();
        for (int i = 0; i < 4; i++) mail.add(new TextRecord(Map.of("subject", "spam " + i, "body", i % 2 == 0 ? "junk" : "normal", "label", "x"), i % 2 == 0 ? "spam" : "ham", "mail.jsonl", i + 1));
        TemplateSearch.Result r = TemplateSearch.builder(MiningFixtures.tinyBert(), MiningFixtures.TOK).verbalizer(Verbalizer.parse("spam=spam;ham=ham"))
                .field("text", "subject").field("text_b", "body").build().run(pairs, mail, mail);
        assertThat(r.ranking()).hasSize(11);
        assertThat(r.ranking().get(0).candidate().template().recordFields()).containsExactlyInAnyOrder("subject", "body");
    }

    @Test
    void candidateFilesSkipCommentsAndBlankLinesAndNameTheLineOfAFault(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("templates.txt");
        Files.writeString(f, "# my templates\n\n{text} Honestly, it was {mask}.\n   # indented comment\n  {mask}! {text}  \n{text} It was {mask}.\n");
        List<Candidate> c = TemplateCandidates.read(f);
        assertThat(c).extracting(x -> x.template().text()).containsExactly("{text} Honestly, it was {mask}.", "{mask}! {text}", "{text} It was {mask}.");
        assertThat(c).extracting(Candidate::line).containsExactly(3, 5, 6);
        assertThat(c.get(1).origin()).isEqualTo(f + ":5");
        // the built-ins and the file: a template given twice is kept once, at its first place
        List<Candidate> all = TemplateCandidates.concat(TemplateCandidates.builtin(false), c);
        assertThat(all).hasSize(20);
        assertThat(all.get(18).template().text()).isEqualTo("{text} Honestly, it was {mask}.");

        Files.writeString(f, "");
        assertThatThrownBy(() -> TemplateCandidates.read(f)).isInstanceOf(PeftException.class).hasMessage(f + ": no candidate templates (the file is empty)");
        Files.writeString(f, "# nothing\n\n   \n");
        assertThatThrownBy(() -> TemplateCandidates.read(f)).isInstanceOf(PeftException.class).hasMessage(f + ": no candidate templates (only blank lines and # comments)");
        Files.writeString(f, "{text} It was {mask}.\n# fine\n{text} It was {mask.\n");
        assertThatThrownBy(() -> TemplateCandidates.read(f)).isInstanceOf(PeftException.class)
                .hasMessage(f + ": line 3: template '{text} It was {mask.', character 15: '{' is never closed (write '{{' for a literal brace)");
        Files.writeString(f, "{text} It was {maks}.\n");
        assertThatThrownBy(() -> TemplateCandidates.read(f)).isInstanceOf(PeftException.class).hasMessageStartingWith(f + ": line 1: template '{text} It was {maks}.', character 15: unknown slot {maks}");
        Files.write(f, new byte[]{'{', 't', (byte) 0xff, '}'});
        assertThatThrownBy(() -> TemplateCandidates.read(f)).isInstanceOf(PeftException.class).hasMessageStartingWith(f + ": not valid UTF-8");
        assertThatThrownBy(() -> TemplateCandidates.read(dir.resolve("missing.txt"))).isInstanceOf(PeftException.class).hasMessageContaining("missing.txt: file not found");
    }

    @Test
    void aCandidateThatCannotServeTheModelOrTheDataIsNamedByFileAndLineBeforeAnyIsScored() {
        PeftModel m = MiningFixtures.tinyBert();
        TemplateSearch s = TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS).build();
        List<String> scored = new ArrayList<>();
        TemplateSearch watched = TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS)
                .listener((index, total, done) -> scored.add(done.candidate().origin())).build();
        assertThatThrownBy(() -> watched.run(candidates("{text} it was {mask} .", "# no answer", "{text} it was good ."), TRAIN, DEV)).isInstanceOf(PeftException.class)
                .hasMessage("candidates.txt: line 3: template '{text} it was good .' has no {mask}: a masked LM reads its answer at the mask");
        assertThat(scored).isEmpty();
        assertThatThrownBy(() -> s.run(candidates("{text} it was {mask} .", "{field:subject} {text} {mask}"), TRAIN, DEV)).isInstanceOf(PeftException.class)
                .hasMessage("candidates.txt: line 2: template '{field:subject} {text} {mask}' reads field 'subject', which the data (synthetic-train) lacks (its fields: [text])");
        assertThatThrownBy(() -> s.run(List.of(), TRAIN, DEV)).isInstanceOf(PeftException.class).hasMessage("template search: no candidate templates");
        assertThatThrownBy(() -> s.run(candidates("{text} {mask}"), TRAIN, List.of())).isInstanceOf(PeftException.class).hasMessage("template search: no dev records");
        // labels
        List<TextRecord> odd = new ArrayList<>(DEV);
        odd.add(new TextRecord(Map.of("text", "a film"), "meh", "dev.jsonl", 25));
        assertThatThrownBy(() -> s.run(candidates("{text} {mask}"), TRAIN, odd)).isInstanceOf(PeftException.class)
                .hasMessage("dev.jsonl: line 25: label 'meh' has no words in the verbalizer (its labels: [neg, pos])");
        assertThatThrownBy(() -> TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(Verbalizer.parse("neg=bad;pos=good;meh=fine")).build()
                .run(candidates("{text} {mask}"), TRAIN, DEV)).isInstanceOf(PeftException.class).hasMessageContaining("the verbalizer's label 'meh' never occurs in the data");
        // settings
        assertThatThrownBy(() -> TemplateSearch.builder(m, MiningFixtures.TOK).build()).isInstanceOf(PeftException.class)
                .hasMessage("template search: give a verbalizer or let one be mined per template, not neither");
        assertThatThrownBy(() -> TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS).mineVerbalizer(VerbalizerSearch.Options.defaults()).build())
                .isInstanceOf(PeftException.class).hasMessage("template search: give a verbalizer or let one be mined per template, not both");
        m.add("mine", LoraConfig.defaults().withR(2));
        assertThatThrownBy(() -> TemplateSearch.builder(m, MiningFixtures.TOK).verbalizer(MiningFixtures.PLANTED_WORDS)
                .fewShot(LoraConfig.defaults(), TrainingConfig.defaults().withMaxSteps(1)).build().run(candidates("{text} {mask}"), TRAIN, DEV))
                .isInstanceOf(PeftException.class).hasMessageStartingWith("template search with training trains an adapter of its own for each template, but the model has trainable parameters already (adapter/mine/");
    }
}
