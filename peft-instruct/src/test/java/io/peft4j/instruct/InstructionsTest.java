package io.peft4j.instruct;

import io.peft4j.core.PeftException;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Instruction files: the built-in ones are complete, and every fault is one message naming the file and field. */
class InstructionsTest {

    @Test
    void everyBuiltinTaskHasThreeSentencesANameAndAParagraphThatFitItsData() {
        assertThat(Instructions.builtinTasks()).containsExactly("spam", "sotu", "opinion-words", "afinn-sentiment", "name-gender", "stopword-language");
        assertThat(InstructTask.builtinNames()).containsExactlyElementsOf(Instructions.builtinTasks());
        for (String task : Instructions.builtinTasks()) {
            InstructionSet s = Instructions.builtin(task);
            assertThat(s.task()).isEqualTo(task);
            assertThat(s.of(Form.SENTENCE)).as(task).hasSizeGreaterThanOrEqualTo(3);
            assertThat(s.of(Form.NAME)).as(task).isNotEmpty();
            assertThat(s.of(Form.PARAGRAPH)).as(task).isNotEmpty();
            for (Instruction i : s.instructions()) {
                assertThat(i.template().hasMask()).as(i.id()).isTrue();
                assertThat(i.verbalizer().labels()).as(i.id()).containsExactlyInAnyOrderElementsOf(Datasets.builtin(task).labels());
            }
            // the paragraph is the longest form, the name the shortest
            int name = s.of(Form.NAME).get(0).text().length(), paragraph = s.of(Form.PARAGRAPH).get(0).text().length();
            for (Instruction i : s.of(Form.SENTENCE)) assertThat(i.text().length()).as(i.id()).isBetween(name, paragraph);
        }
        // opinion-words and afinn-sentiment are one cluster; each other task is its own
        assertThat(Instructions.builtin("opinion-words").cluster()).isEqualTo("word-sentiment");
        assertThat(Instructions.builtin("afinn-sentiment").cluster()).isEqualTo("word-sentiment");
        assertThat(Instructions.builtin("name-gender").cluster()).isEqualTo("name-gender");
    }

    @Test
    void idsTextAndCarrierComeFromTheTemplate() {
        Instruction i = Instructions.builtin("spam").instructions().get(0).forFields(List.of("subject", "text"));
        assertThat(i.id()).isEqualTo("spam/sentence-1");
        assertThat(i.form()).isEqualTo(Form.SENTENCE);
        assertThat(i.text()).isEqualTo("Is the following e-mail spam? Answer yes or no. Subject:. Answer:.");
        assertThat(i.carrier().text()).isEqualTo("{text} {text_b} {mask}.");
        assertThat(i.carrier().recordFields()).containsExactly("subject", "text");
        assertThat(i.verbalizer().spec()).isEqualTo("ham=no;spam=yes");
        Instruction name = Instructions.builtin("spam").of(Form.NAME).get(0);
        assertThat(name.id()).isEqualTo("spam/name-1");
        assertThat(name.text()).isEqualTo("spam detection:.");
        assertThat(name.verbalizer().spec()).isEqualTo("ham=normal;spam=junk");
    }

    @Test
    void theSplitTrainsOnTheFirstSentencesAndTestsOnTheRest() {
        InstructionSet.Split s = Instructions.builtin("sotu").split(2);
        assertThat(s.train()).extracting(Instruction::id).containsExactly("sotu/sentence-1", "sotu/sentence-2");
        assertThat(s.eval()).extracting(Instruction::id).containsExactly("sotu/sentence-3", "sotu/name-1", "sotu/paragraph-1");
        assertThatThrownBy(() -> Instructions.builtin("sotu").split(4)).isInstanceOf(PeftException.class)
                .hasMessage("built-in instructions/sotu.json: task 'sotu' has 3 sentence-style instructions, and 4 are to be trained on");
    }

    @Test
    void builtinLabelWordsAreKnownToTheRealBertTokenizer() {
        var tok = Tokenizers.load(io.peft4j.core.hub.ModelHub.resolve("bert-base-uncased"));
        for (String task : Instructions.builtinTasks()) Instructions.builtin(task).checkTokenizer(tok);
    }

    private static Path file(Path dir, String json) throws Exception {
        Path f = dir.resolve("t.json");
        Files.writeString(f, json);
        return f;
    }

    private static final String WORDS = "\"label_words\": {\"pos\": [\"good\"], \"neg\": \"bad\"}";

    @Test
    void aTemplateWithoutTheAnswerSlotIsNamedByFileAndField(@TempDir Path tmp) throws Exception {
        Path f = file(tmp, "{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"sentence\", \"template\": \"{text} it was {mask}.\"},"
                + " {\"form\": \"name\", \"template\": \"polarity: {text}\"}]}");
        assertThatThrownBy(() -> Instructions.read(f)).isInstanceOf(PeftException.class)
                .hasMessage(f + ": field 'instructions[1].template': template 'polarity: {text}' lacks the answer slot {mask}");
    }

    @Test
    void labelWordsForAnUnknownLabelOrMissingALabelAreNamed(@TempDir Path tmp) throws Exception {
        Path unknown = file(tmp, "{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"sentence\", \"template\": \"{text} {mask}\","
                + " \"label_words\": {\"pos\": \"yes\", \"neg\": \"no\", \"neutral\": \"maybe\"}}]}");
        assertThatThrownBy(() -> Instructions.read(unknown)).isInstanceOf(PeftException.class)
                .hasMessage(unknown + ": field 'instructions[0].label_words' names label 'neutral', which is not one of the task's labels [pos, neg] (field 'label_words')");
        Path missing = file(tmp, "{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"sentence\", \"template\": \"{text} {mask}\","
                + " \"label_words\": {\"pos\": \"yes\"}}]}");
        assertThatThrownBy(() -> Instructions.read(missing)).isInstanceOf(PeftException.class)
                .hasMessage(missing + ": field 'instructions[0].label_words' has no words for the task's label 'neg'");
    }

    @Test
    void otherFaultsOfTheFileAreNamed(@TempDir Path tmp) throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"task\": \"t\", \"instructions\": []}", "field 'label_words' is missing (the task's labels and their words)");
        cases.put("{\"task\": \"t\", " + WORDS + ", \"instructions\": []}", "field 'instructions' is empty");
        cases.put("{\"task\": \"t\", \"label_words\": {\"pos\": \"good\"}, \"instructions\": [{\"form\": \"name\", \"template\": \"{text} {mask}\"}]}",
                "field 'label_words': verbalizer has one label ([pos]): classification needs at least two");
        cases.put("{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"essay\", \"template\": \"{text} {mask}\"}]}",
                "field 'instructions[0].form' is 'essay', not sentence, name or paragraph");
        cases.put("{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"name\", \"templte\": \"{text} {mask}\"}]}",
                "unknown field 'instructions[0].templte' (fields: form, label_words, template)");
        cases.put("{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"name\", \"template\": \"{txt} {mask}\"}]}",
                "field 'instructions[0].template': template '{txt} {mask}', character 1: unknown slot {txt} (slots: {text}, {text_b}, {field:NAME}, {mask}, {soft}, {soft:WORDS})");
        cases.put("{\"task\": \"\", " + WORDS + ", \"instructions\": []}", "field 'task' must be a non-empty string, not \"\"");
        for (var c : cases.entrySet()) {
            Path f = file(tmp, c.getKey());
            assertThatThrownBy(() -> Instructions.read(f)).as(c.getKey()).isInstanceOf(PeftException.class).hasMessage(f + ": " + c.getValue());
        }
        Path bad = file(tmp, "{\"task\": ");
        assertThatThrownBy(() -> Instructions.read(bad)).isInstanceOf(PeftException.class).hasMessageStartingWith(bad + ": malformed JSON");
    }

    @Test
    void theDataMustHaveTheFilesLabelsAndTwoOfThem() {
        InstructionSet set = Instructions.parse(Json.parse("x", "{\"task\": \"polarity\", " + WORDS + ", \"instructions\": [{\"form\": \"name\", \"template\": \"{text} {mask}\"}]}"), "p.json");
        var pos = TinyInstruct.records("polarity", 2, "train");
        var onlyPos = List.of(pos.get(0));
        assertThatThrownBy(() -> InstructTask.of("polarity", List.of("text"), onlyPos, onlyPos, set)).isInstanceOf(PeftException.class)
                .hasMessage("polarity/train.jsonl: task 'polarity' has one class [pos]: classification needs at least two");
        InstructionSet other = Instructions.parse(Json.parse("x", "{\"task\": \"polarity\", \"label_words\": {\"pos\": \"good\", \"bad\": \"bad\"},"
                + " \"instructions\": [{\"form\": \"name\", \"template\": \"{text} {mask}\"}]}"), "p.json");
        assertThatThrownBy(() -> InstructTask.of("polarity", List.of("text"), pos, pos, other)).isInstanceOf(PeftException.class)
                .hasMessage("p.json: field 'label_words' has no words for label 'neg' of the data polarity/train.jsonl (its labels: [pos, bad])");
        InstructionSet pair = Instructions.parse(Json.parse("x", "{\"task\": \"polarity\", " + WORDS + ", \"instructions\": [{\"form\": \"name\", \"template\": \"{text} {text_b} {mask}\"}]}"), "p.json");
        assertThatThrownBy(() -> InstructTask.of("polarity", List.of("text"), pos, pos, pair)).isInstanceOf(PeftException.class)
                .hasMessageContaining("has {text_b}, but the data has one text field [text]");
    }

    @Test
    void unknownTaskNamesListTheValidOnes() {
        assertThatThrownBy(() -> InstructTask.builtins(List.of("spam", "imdb"), Map.of())).isInstanceOf(PeftException.class)
                .hasMessage("unknown task 'imdb' (tasks: spam, sotu, opinion-words, afinn-sentiment, name-gender, stopword-language)");
        assertThatThrownBy(() -> Instructions.builtin("imdb")).isInstanceOf(PeftException.class)
                .hasMessage("no built-in instructions for task 'imdb' (tasks: spam, sotu, opinion-words, afinn-sentiment, name-gender, stopword-language)");
    }

    @Test
    void aLabelWordTheTokenizerDoesNotKnowIsNamedByFileAndField(@TempDir Path tmp) throws Exception {
        Path f = file(tmp, "{\"task\": \"t\", " + WORDS + ", \"instructions\": [{\"form\": \"name\", \"template\": \"{text} {mask}\","
                + " \"label_words\": {\"pos\": \"splendid\", \"neg\": \"bad\"}}]}");
        var tok = Tokenizers.load(TinyInstruct.model(tmp));
        assertThatThrownBy(() -> Instructions.read(f).checkTokenizer(tok)).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(f + ": instructions[0]: label_words: ").hasMessageContaining("splendid");
    }
}
