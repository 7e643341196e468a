package io.peft4j.prompt.soft;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.TinyTokenizers;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** A template's soft tokens: placed where the template puts them, saved and loaded like an adapter. */
class SoftTokensTest {
    private static final Tokenizer TOK = TinyTokenizers.bert();
    private static final Verbalizer V = Verbalizer.parse("positive=good;negative=bad;neutral=fine");
    private static final List<Map<String, String>> RECORDS = List.of(Map.of("text", "the movie was great"), Map.of("text", "a film"),
            Map.of("text", "the acting is not awful , the plot is fine"));

    private static PeftModel bert() {
        return PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.DOUBLE), "bert-tiny");
    }

    private static void assertSameScores(double[][] a, double[][] b, double tol) {
        assertThat(a.length).isEqualTo(b.length);
        for (int r = 0; r < a.length; r++) assertThat(a[r]).containsExactly(b[r], within(tol));
    }

    /** Soft tokens that start from words' embeddings compute exactly what the words do, until they are trained. */
    @Test
    void softTokensFromWordsEqualTheWordsBeforeTraining() {
        PeftModel m = bert();
        PromptClassifier hard = PromptClassifier.of(m, TOK, Template.parse("{text} it was the {mask} film ."), V);
        PromptClassifier soft = PromptClassifier.of(m, TOK, Template.parse("{text} it {soft:was the} {mask} {soft:film} ."), V);
        assertThat(m.adapter(PromptClassifier.SOFT_TOKENS).parameterCount()).isEqualTo(3 * 32);
        assertThat(soft.render(RECORDS.get(0)).ids()).containsExactly(hard.render(RECORDS.get(0)).ids());
        assertSameScores(soft.classScores(RECORDS, 3), hard.classScores(RECORDS, 3), 1e-12);
        // moved soft tokens change the answer
        Tensor table = m.adapter(PromptClassifier.SOFT_TOKENS).parameters().get("soft_embeddings");
        table.value().addi(Init.normal(3, 0.5, DataType.DOUBLE, table.shape()));
        assertThat(Math.abs(soft.classScores(RECORDS, 3)[0][0] - hard.classScores(RECORDS, 3)[0][0])).isGreaterThan(1e-4);
    }

    /** With a prompt-tuning adapter installed first, the soft tokens still replace the template's positions (after its virtual tokens). */
    @Test
    void softTokensFindTheirPositionsAfterPrependedVirtualTokens() {
        PeftModel m = bert();
        m.add("default", PromptTuningConfig.random(4), 9);
        PromptClassifier hard = PromptClassifier.of(m, TOK, Template.parse("{text} it was the {mask} ."), V);
        PromptClassifier soft = PromptClassifier.of(m, TOK, Template.parse("{text} it {soft:was} the {mask} ."), V);
        assertSameScores(soft.classScores(RECORDS, 2), hard.classScores(RECORDS, 2), 1e-12);
        PeftModel plain = bert();
        assertThat(Math.abs(PromptClassifier.of(plain, TOK, Template.parse("{text} it was the {mask} ."), V).classScores(RECORDS, 2)[0][0]
                - hard.classScores(RECORDS, 2)[0][0])).as("the prompt-tuning adapter is in effect").isGreaterThan(1e-4);
    }

    @Test
    void softTokensSaveAndLoadAsAnAdapterBesideTheTemplateAndVerbalizer(@TempDir Path tmp) {
        PeftModel m = bert();
        Template t = Template.parse("{soft} {text} it was {mask} {soft:film} .");
        PromptClassifier clf = PromptClassifier.builder(m, TOK, t).verbalizer(V).seed(4).build();
        Adapter a = m.adapter(PromptClassifier.SOFT_TOKENS);
        a.parameters().get("soft_embeddings").value().addi(Init.normal(5, 0.3, DataType.DOUBLE, 2, 32));
        Path dir = tmp.resolve("out");
        m.save(dir);
        t.write(dir.resolve(Template.FILE));
        V.write(dir.resolve(Verbalizer.FILE));
        var cfg = Json.read(dir.resolve("adapter_config.json"));
        assertThat(cfg.get("peft_type").asText()).isEqualTo("SOFT_TOKENS");
        assertThat(cfg.get("num_soft_tokens").asInt()).isEqualTo(2);
        assertThat(cfg.get("init_token_ids").toString()).isEqualTo("[-1," + TinyTokenizers.bertId("film") + "]");

        PeftModel back = bert();
        back.load(dir, PromptClassifier.SOFT_TOKENS);
        PromptClassifier again = PromptClassifier.of(back, TOK, Template.read(dir.resolve(Template.FILE)), Verbalizer.read(dir.resolve(Verbalizer.FILE)));
        assertThat(again.labels()).containsExactly("positive", "negative", "neutral");
        assertSameScores(again.classScores(RECORDS, 3), clf.classScores(RECORDS, 3), 1e-12);
    }

    @Test
    void aSavedConfigForAnotherBaseFailsNamingTheFile(@TempDir Path tmp) throws Exception {
        PeftModel m = bert();
        PromptClassifier.of(m, TOK, Template.parse("{soft} {text} {mask}"), V);
        m.save(tmp);
        Path cfg = tmp.resolve("adapter_config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"token_dim\" : 32", "\"token_dim\" : 768"));
        assertThatThrownBy(() -> bert().load(tmp, "soft_tokens")).isInstanceOf(PeftException.class)
                .hasMessage(cfg + ": field 'token_dim' is 768 but this base model has hidden size 32: the soft tokens were made for another base");
        Files.writeString(cfg, "{\"peft_type\": \"SOFT_TOKENS\", \"num_soft_tokens\": 2, \"init_token_ids\": [1]}");
        assertThatThrownBy(() -> bert().load(tmp, "soft_tokens")).isInstanceOf(PeftException.class)
                .hasMessage(cfg + ": field 'init_token_ids' lists 1 ids for 2 soft tokens");
    }
}
