package io.peft4j.core.data;

import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The built-in datasets (peft-datasets on the test class path): names, specs, and record and label counts
 * against the counts stated in the reference material's README (independent of this reader).
 */
class DatasetsTest {
    @Test
    void builtinNamesAndSpecs() {
        assertThat(Datasets.builtinNames()).containsExactly("afinn-sentiment", "name-gender", "opinion-words", "sotu", "spam", "stopword-language");
        BuiltinDataset spam = Datasets.builtin("spam");
        assertThat(spam.spec().textFields()).containsExactly("subject", "text");
        assertThat(spam.spec().labelField()).isEqualTo("label");
        assertThat(spam.labels()).containsExactly("ham", "spam");
        assertThat(spam.licence()).contains("SpamAssassin");
        assertThat(Datasets.builtin("sotu").spec().textFields()).containsExactly("text");
        assertThat(Datasets.builtin("stopword-language").labels()).hasSize(7);
        assertThat(Datasets.builtin("afinn-sentiment").licence()).contains("CC-BY 4.0").contains("Nielsen");
        assertThat(Datasets.builtin("opinion-words").licence()).contains("Hu").contains("Liu");
        assertThatThrownBy(() -> Datasets.builtin("imdb")).isInstanceOf(PeftException.class)
                .hasMessage("imdb: not a built-in dataset (afinn-sentiment, name-gender, opinion-words, sotu, spam, stopword-language)");
    }

    @Test
    void spamCountsMatchTheReadme() {
        List<TextRecord> train = Datasets.load("spam", Split.TRAIN);
        assertThat(train).hasSize(2_567);
        assertThat(Labels.counts(train)).containsExactly(Map.entry("ham", 2_567 - 387), Map.entry("spam", 387));
        List<TextRecord> dev = Datasets.builtin("spam").load(Split.DEV);
        assertThat(dev).hasSize(683);
        assertThat(Labels.counts(dev).get("spam")).isEqualTo(113);
        assertThat(Datasets.load("spam:dev", Split.TRAIN)).hasSize(683);          // a named split overrides the caller's
        assertThat(Datasets.load("spam:train", Split.DEV)).hasSize(2_567);
        assertThat(Datasets.isBuiltin("spam:dev")).isTrue();
        assertThat(Datasets.defaultSpec("spam:dev")).isEqualTo(Datasets.builtin("spam").spec());
        TextRecord first = train.get(0);
        assertThat(first.source()).isEqualTo("built-in spam/train.jsonl");
        assertThat(first.line()).isEqualTo(1);
        assertThat(first.field("id")).isEqualTo("easy-ham-1/00001");
        assertThat(first.field("subject")).isEqualTo("Re: New Sequences Window");
        List<TextRecord> shots = Sampling.kShot(train, 16, 42);
        assertThat(Labels.counts(shots)).containsExactly(Map.entry("ham", 16), Map.entry("spam", 16));
        // 100 keeping 2180 : 387: quotas 84.92 and 15.08
        assertThat(Labels.counts(Sampling.stratifiedSubset(train, 100, 1))).containsExactly(Map.entry("ham", 85), Map.entry("spam", 15));
    }

    @Test
    void everyBuiltinMatchesTheReadmeAndItsIndexedLabels() {
        // name -> {train, dev, train count of the label, the label}; from the reference README
        record Counts(int train, int dev, String label, int trainOfLabel) {
        }
        Map<String, Counts> readme = Map.of(
                "spam", new Counts(2_567, 683, "spam", 387),
                "sotu", new Counts(10_196, 1_878, "republican", 4_868),
                "opinion-words", new Counts(4_519, 971, "positive", 1_303),
                "afinn-sentiment", new Counts(1_700, 370, null, 0),
                "name-gender", new Counts(5_639, 1_181, null, 0),
                "stopword-language", new Counts(2_006, 391, null, 0));
        assertThat(readme.keySet()).containsExactlyInAnyOrderElementsOf(Datasets.builtinNames());
        readme.forEach((name, c) -> {
            BuiltinDataset d = Datasets.builtin(name);
            List<TextRecord> train = d.load(Split.TRAIN), dev = d.load(Split.DEV);
            assertThat(train).as(name).hasSize(c.train());
            assertThat(dev).as(name).hasSize(c.dev());
            if (c.label() != null) assertThat(Labels.counts(train).get(c.label())).as(name).isEqualTo(c.trainOfLabel());
            assertThat(Labels.of(train)).as(name).isEqualTo(d.labels());
        });
        assertThat(Labels.counts(Datasets.load("sotu", Split.DEV)).get("republican")).isEqualTo(1_214);
        assertThat(Labels.counts(Datasets.load("opinion-words", Split.DEV)).get("positive")).isEqualTo(292);
        // test splits are held back
        assertThat(getClass().getClassLoader().getResource("io/peft4j/datasets/spam/test.jsonl")).isNull();
    }

    @Test
    void pathsWinAndUnknownNamesListTheBuiltins(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("spam");
        Files.writeString(f, "{\"text\": \"mine\", \"label\": \"x\"}\n");
        assertThat(Datasets.isBuiltin(f.toString())).isFalse();
        assertThat(Datasets.defaultSpec(f.toString())).isEqualTo(DataSpec.defaults());
        assertThat(Datasets.load(f.toString(), Split.TRAIN)).extracting(r -> r.field("text")).containsExactly("mine");
        assertThat(Datasets.isBuiltin("spam")).isTrue();
        assertThat(Datasets.defaultSpec("spam").textFields()).containsExactly("subject", "text");
        assertThatThrownBy(() -> Datasets.load("spma", Split.TRAIN)).isInstanceOf(PeftException.class)
                .hasMessage("spma: no such file, nor a built-in dataset (afinn-sentiment, name-gender, opinion-words, sotu, spam, stopword-language)");
        assertThatThrownBy(() -> Datasets.load(tmp.resolve("nope.jsonl").toString(), Split.DEV)).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(tmp.resolve("nope.jsonl") + ": no such file");
        assertThatThrownBy(() -> Datasets.load(tmp.toString(), Split.DEV)).isInstanceOf(PeftException.class)
                .hasMessage(tmp + ": not a regular file");
        // a built-in read with another spec: its text field as a single text, a label map, a limit
        List<TextRecord> words = Datasets.load("opinion-words", Split.DEV,
                DataSpec.defaults().withLabelMap(Map.of("negative", "bad", "positive", "good")).withLimit(50));
        assertThat(words).hasSize(50);
        assertThat(Labels.of(words)).isSubsetOf("bad", "good");
    }

    @Test
    void withoutTheDatasetsModuleTheMessageSaysWhatIsMissing() throws Exception {
        try (URLClassLoader bare = new URLClassLoader(new URL[0], null)) {
            BuiltinIndex idx = BuiltinIndex.load(bare);
            assertThat(idx.present()).isFalse();
            assertThat(idx.names()).isEmpty();
            assertThatThrownBy(() -> idx.require("spam")).isInstanceOf(PeftException.class)
                    .hasMessage("spam: built-in datasets need the peft-datasets module on the class path");
        }
    }
}
