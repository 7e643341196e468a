package io.peft4j.prompt.mining;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Sampling;
import io.peft4j.core.data.Split;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.TinyTokenizers;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The code of docs/prompting.md's "Prompt mining" section, compiled and run on the tiny BERT with its hand-made
 * tokenizer instead of BERT-base (and a temporary file for {@code my-templates.txt}); keep the two in step.
 */
class MiningGuideTest {
    @Test
    void theGuidesExampleRuns(@TempDir Path tmp) throws Exception {
        PeftModel model = MiningFixtures.tinyBert();
        Tokenizer tokenizer = TinyTokenizers.bert();
        Path myTemplates = tmp.resolve("my-templates.txt");
        Files.writeString(myTemplates, "# mine\n{text} Honestly, it was {mask}.\n");

        List<TextRecord> train = Sampling.kShot(Datasets.load("opinion-words", Split.TRAIN), 32, 42);
        List<TextRecord> dev = Datasets.load("opinion-words", Split.DEV);

        // label words: the best 3 per label from the whole vocabulary
        VerbalizerSearch.Result found = VerbalizerSearch.search(model, tokenizer, Template.parse("{text}. It was {mask}."), train,
                VerbalizerSearch.Options.defaults());
        String wordsTable = found.toMarkdown();                  // ranked words per label, with their scores
        Verbalizer mined = found.verbalizer();                   // usable as it is; found.spec() is the --verbalizer form

        // templates: the built-in candidates and the user's file, ranked on dev
        List<TemplateCandidates.Candidate> candidates = TemplateCandidates.concat(TemplateCandidates.builtin(false),
                TemplateCandidates.read(myTemplates));
        TemplateSearch.Result ranked = TemplateSearch.builder(model, tokenizer)
                .verbalizer(mined)                                   // or .mineVerbalizer(options): one per template
                .fewShot(LoraConfig.defaults().withR(8), TrainingConfig.defaults().withMaxSteps(30).withSeed(42))   // omit for zero-shot
                .listener((index, total, scored) -> System.err.printf("%d/%d%n", index + 1, total))
                .build()
                .run(candidates, train, dev);
        Template best = ranked.best().candidate().template();
        String ranking = ranked.toJson().toPrettyString();       // or ranked.toMarkdown()

        assertThat(wordsTable).contains("| negative | 1 |");
        assertThat(mined.labels()).containsExactly("negative", "positive");
        assertThat(ranked.ranking()).hasSize(19);
        assertThat(best).isSameAs(ranked.ranking().get(0).candidate().template());
        assertThat(ranking).contains("\"mode\" : \"few_shot\"");
        assertThat(model.adapters()).isEmpty();
    }
}
