package io.peft4j.prompt.template;

import io.peft4j.core.data.Truncation;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.TinyTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.peft4j.prompt.TinyTokenizers.bertId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Template parsing and rendering on hand-written cases (ids written out from the tiny vocabulary). */
class TemplateTest {
    private static final Tokenizer BERT = TinyTokenizers.bert();
    private static final int CLS = 2, SEP = 3, MASK = 4;

    private static int[] ids(String... tokens) {
        return java.util.Arrays.stream(tokens).mapToInt(t -> switch (t) {
            case "[CLS]" -> CLS;
            case "[SEP]" -> SEP;
            case "[MASK]" -> MASK;
            default -> bertId(t);
        }).toArray();
    }

    @Test
    void parsesSlotsWordsAndTheWhitespaceBeforeEachPart() {
        Template t = Template.parse("{text} It was {mask}.");
        assertThat(t.parts()).containsExactly(new Template.Field("text", ""), new Template.Literal("It was", " "),
                new Template.Mask(" "), new Template.Literal(".", ""));
        Template u = Template.parse(" {field:subject}\n{{x}} {soft} {soft: good film }{text_b}");
        assertThat(u.parts()).containsExactly(new Template.Field("subject", " "), new Template.Literal("{x}", "\n"),
                new Template.Soft(null, " "), new Template.Soft("good film", " "), new Template.Field("text_b", ""));
        assertThat(u.slots()).containsExactly("subject", "text_b");
        assertThat(u.hasMask()).isFalse();
        assertThat(u.hasSoftTokens()).isTrue();
    }

    @Test
    void malformedTemplatesFailNamingTheTemplateAndThePlace() {
        assertThatThrownBy(() -> Template.parse("{text} It was {answer}.")).isInstanceOf(PeftException.class)
                .hasMessage("template '{text} It was {answer}.', character 15: unknown slot {answer} (slots: {text}, {text_b}, {field:NAME}, {mask}, {soft}, {soft:WORDS})");
        assertThatThrownBy(() -> Template.parse("{text} It was {mask")).hasMessageContaining("character 15: '{' is never closed");
        assertThatThrownBy(() -> Template.parse("{text} was} {mask}")).hasMessageContaining("character 11: '}' without a '{'");
        assertThatThrownBy(() -> Template.parse("{text} {mask} {mask}")).hasMessageContaining("a second {mask}");
        assertThatThrownBy(() -> Template.parse("It was {mask}.")).hasMessageContaining("has no slot for the input");
        assertThatThrownBy(() -> Template.parse("{field:} {mask}")).hasMessageContaining("{field:NAME} needs a field name");
        assertThatThrownBy(() -> Template.parse("{text:x} {mask}")).hasMessageContaining("{text} takes no argument");
        assertThatThrownBy(() -> Template.parse("  ")).hasMessage("template is empty");
    }

    @Test
    void rendersAMaskedLmPromptWithSpecialTokensAndTheMaskPosition() {
        TemplateEncoder enc = Template.parse("{text} It was {mask}.").encoder(BERT, AnswerMode.MASK, 512);
        Rendered r = enc.encode(Map.of("text", "  The movie was great "));
        assertThat(r.ids()).containsExactly(ids("[CLS]", "the", "movie", "was", "great", "it", "was", "[MASK]", ".", "[SEP]"));
        assertThat(r.tokenTypes()).containsOnly(0);
        assertThat(r.answerPosition()).isEqualTo(7);
        assertThat(r.truncatedTokens()).isZero();
    }

    @Test
    void truncationShortensTheFieldAtItsTailOrHeadAndNeverTheTemplate() {
        Template t = Template.parse("{text} It was {mask}.");
        Map<String, String> rec = Map.of("text", "the movie was great");
        // 8 tokens: [CLS] [SEP] and the template's 4 leave 2 for the text
        Rendered tail = t.encoder(BERT, AnswerMode.MASK, 8).encode(rec);
        assertThat(tail.ids()).containsExactly(ids("[CLS]", "the", "movie", "it", "was", "[MASK]", ".", "[SEP]"));
        assertThat(tail.answerPosition()).isEqualTo(5);
        assertThat(tail.truncatedTokens()).isEqualTo(2);
        Rendered head = t.withTruncation(Truncation.START).encoder(BERT, AnswerMode.MASK, 8).encode(rec);
        assertThat(head.ids()).containsExactly(ids("[CLS]", "was", "great", "it", "was", "[MASK]", ".", "[SEP]"));
        // the template alone (6 tokens with the special ones) fits 6 but not 5
        assertThat(t.encoder(BERT, AnswerMode.MASK, 6).encode(rec).ids()).containsExactly(ids("[CLS]", "it", "was", "[MASK]", ".", "[SEP]"));
        assertThatThrownBy(() -> t.encoder(BERT, AnswerMode.MASK, 5)).isInstanceOf(PeftException.class)
                .hasMessage("template '{text} It was {mask}.' alone takes 6 tokens (with 2 special tokens), more than the 5 the model takes: no room for the input");
    }

    @Test
    void pairsLoseTokensFromTheLongerFieldFirstAndTheLaterOneOnTies() {
        Template t = Template.parse("{text} , {mask} . {text_b}");
        Map<String, String> rec = Map.of("text", "the movie was great", "text_b", "good acting");   // 4 and 2 tokens
        // 9: room for 4 field tokens: the first field loses 2
        assertThat(t.encoder(BERT, AnswerMode.MASK, 9).encode(rec).ids())
                .containsExactly(ids("[CLS]", "the", "movie", ",", "[MASK]", ".", "good", "acting", "[SEP]"));
        // 8: room for 3: 4+2 -> 3+2 -> 2+2 -> tie: the later field -> 2+1
        assertThat(t.encoder(BERT, AnswerMode.MASK, 8).encode(rec).ids())
                .containsExactly(ids("[CLS]", "the", "movie", ",", "[MASK]", ".", "good", "[SEP]"));
        assertThat(t.withTruncation(Truncation.START).encoder(BERT, AnswerMode.MASK, 8).encode(rec).ids())
                .containsExactly(ids("[CLS]", "was", "great", ",", "[MASK]", ".", "acting", "[SEP]"));
    }

    @Test
    void namedFieldsAndRemappedTextFields() {
        Template t = Template.parse("{field:subject} . {text} {mask}").withField("text", "body");
        assertThat(t.recordFields()).containsExactly("subject", "body");
        Rendered r = t.encoder(BERT, AnswerMode.MASK, 512).encode(Map.of("subject", "spam", "body", "junk", "text", "ignored"));
        assertThat(r.ids()).containsExactly(ids("[CLS]", "spam", ".", "junk", "[MASK]", "[SEP]"));
        assertThatThrownBy(() -> t.encoder(BERT, AnswerMode.MASK, 512).encode(Map.of("subject", "spam")))
                .isInstanceOf(PeftException.class).hasMessage("a record has no field 'body' for template '{field:subject} . {text} {mask}' (its fields: [subject])");
        assertThatThrownBy(() -> t.requireFields(List.of("id", "subject", "text"), Path.of("train.jsonl"))).isInstanceOf(PeftException.class)
                .hasMessage("train.jsonl: template '{field:subject} . {text} {mask}' reads field 'body' (slot {text}), which the data lacks (its fields: [id, subject, text])");
        assertThatThrownBy(() -> t.withField("text_b", "x")).hasMessageContaining("has no slot 'text_b'");
        assertThat(t.recordOf("N/A")).containsExactly(Map.entry("subject", "N/A"), Map.entry("body", "N/A"));
    }

    @Test
    void softTokensTakePlaceholderPositionsAndStartFromTheirWords() {
        TemplateEncoder enc = Template.parse("{soft} {text} {soft:good film} {mask}").encoder(BERT, AnswerMode.MASK, 512);
        assertThat(enc.softTokenCount()).isEqualTo(3);
        assertThat(enc.softInitIds()).containsExactly(-1, bertId("good"), bertId("film"));
        Rendered r = enc.encode(Map.of("text", "great"));
        assertThat(r.ids()).containsExactly(CLS, BERT.padId(), bertId("great"), bertId("good"), bertId("film"), MASK, SEP);
        assertThat(r.softPositions()).containsExactly(1, 3, 4);
        assertThat(r.softIndices()).containsExactly(0, 1, 2);
        assertThat(r.answerPosition()).isEqualTo(5);
        // a truncated field moves the soft tokens and the mask with it
        Rendered cut = Template.parse("{text} {soft} {mask}").encoder(BERT, AnswerMode.MASK, 5).encode(Map.of("text", "the movie was great"));
        assertThat(cut.ids()).containsExactly(CLS, bertId("the"), BERT.padId(), MASK, SEP);
        assertThat(cut.softPositions()).containsExactly(2);
        assertThat(cut.answerPosition()).isEqualTo(3);
    }

    @Test
    void aMaskedLmTemplateNeedsAMask() {
        assertThatThrownBy(() -> Template.parse("{text} It was great.").encoder(BERT, AnswerMode.MASK, 512)).isInstanceOf(PeftException.class)
                .hasMessage("template '{text} It was great.' has no {mask}: a masked LM reads its answer at the mask");
        // no answer position: the whole template, a mask as the mask token
        Rendered r = Template.parse("{text} It was {mask}.").encoder(BERT, AnswerMode.NONE, 512).encode(Map.of("text", "great"));
        assertThat(r.ids()).containsExactly(ids("[CLS]", "great", "it", "was", "[MASK]", ".", "[SEP]"));
        assertThat(r.answerPosition()).isEqualTo(-1);
    }

    /**
     * With GPT-2's real BPE, rendering part by part gives the ids of the whole prompt text (the space before each
     * part is kept with it), the words after {mask} are dropped and the answer is the last token.
     */
    @Test
    void decoderPromptsEqualTheWholeTextsTokensAndAnswerAfterTheLastToken() {
        Tokenizer gpt2 = Tokenizers.fromVocabAndMerges(Fixtures.resource("tokenizers/gpt2/vocab.json"), Fixtures.resource("tokenizers/gpt2/merges.txt"));
        TemplateEncoder enc = Template.parse("Review: {text}\nAll in all, it was {mask}.").encoder(gpt2, AnswerMode.NEXT_TOKEN, 1024);
        Rendered r = enc.encode(Map.of("text", "A gripping, well-acted film. "));
        int[] whole = gpt2.encodeText("Review: A gripping, well-acted film.\nAll in all, it was");
        assertThat(r.ids()).containsExactly(whole);
        assertThat(r.answerPosition()).isEqualTo(whole.length - 1);
        assertThat(r.softPositions()).isEmpty();
        assertThatThrownBy(() -> Template.parse("{text} It was {mask} {text_b}").encoder(gpt2, AnswerMode.NEXT_TOKEN, 1024))
                .isInstanceOf(PeftException.class).hasMessageContaining("field {text_b} after {mask}, but a decoder answers with the token after the prompt");
        // a template without {mask} answers after its end
        Rendered plain = Template.parse("Q: {text} A:").encoder(gpt2, AnswerMode.NEXT_TOKEN, 1024).encode(Map.of("text", "Is it?"));
        assertThat(plain.ids()).containsExactly(gpt2.encodeText("Q: Is it? A:"));
        assertThat(plain.answerPosition()).isEqualTo(plain.length() - 1);
    }

    @Test
    void decoderTruncationKeepsTheLastTokenTheAnswer() {
        Tokenizer tok = TinyTokenizers.gpt2();
        Template t = Template.parse("{text}{mask}");
        Rendered r = t.withTruncation(Truncation.START).encoder(tok, AnswerMode.NEXT_TOKEN, 3).encode(Map.of("text", TinyTokenizers.gpt2Text(5, 6, 7, 8)));
        assertThat(r.ids()).containsExactly(6, 7, 8);
        assertThat(r.answerPosition()).isEqualTo(2);
        assertThat(r.truncatedTokens()).isEqualTo(1);
    }

    @Test
    void jsonFormRoundTripsAndItsFaultsNameTheFileAndField(@TempDir Path tmp) throws Exception {
        Template t = Template.parse("{field:subject} . {text} {mask}").withField("text", "body").withTruncation(Truncation.START);
        Path f = tmp.resolve(Template.FILE);
        t.write(f);
        Template back = Template.read(f);
        assertThat(back.text()).isEqualTo(t.text());
        assertThat(back.truncation()).isEqualTo(Truncation.START);
        assertThat(back.recordFields()).containsExactly("subject", "body");
        assertThat(Json.read(f).toString()).isEqualTo("{\"template\":\"{field:subject} . {text} {mask}\",\"truncation\":\"start\",\"fields\":{\"text\":\"body\"}}");

        Files.writeString(f, "{\"truncation\": \"tail\"}");
        assertThatThrownBy(() -> Template.read(f)).isInstanceOf(PeftException.class).hasMessage(f + ": field 'template' is missing");
        Files.writeString(f, "{\"template\": \"{text} {mask\"}");
        assertThatThrownBy(() -> Template.read(f)).hasMessageStartingWith(f + ": field 'template': template '{text} {mask', character 8");
        Files.writeString(f, "{\"template\": \"{text} {mask}\", \"truncation\": \"middle\"}");
        assertThatThrownBy(() -> Template.read(f)).hasMessage(f + ": field 'truncation' is \"middle\", not \"end\" or \"start\"");
        Files.writeString(f, "{\"template\": \"{text} {mask}\", \"fields\": {\"text_b\": \"x\"}}");
        assertThatThrownBy(() -> Template.read(f)).hasMessageStartingWith(f + ": field 'fields.text_b': template '{text} {mask}' has no slot 'text_b'");
        Files.writeString(f, "[1]");
        assertThatThrownBy(() -> Template.read(f)).hasMessage(f + ": not a JSON object");
    }
}
