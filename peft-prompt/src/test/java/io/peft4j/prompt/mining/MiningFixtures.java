package io.peft4j.prompt.mining;

import io.peft4j.core.Fixtures;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.TinyTokenizers;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Synthetic data and a planted label word for the mining tests, on the tiny BERT fixture: records of class
 * {@code pos} say something good about a film, those of class {@code neg} something bad (the words of the tiny
 * vocabulary), and the model is trained (PET's loss, the whole model) with the template {@link #PLANTED} to answer
 * {@code great} for pos and {@code terrible} for neg (and with {@link #SWAPPED} the other way round). Neither word
 * occurs in the records, so what a search finds for them can only come from the training.
 */
final class MiningFixtures {
    static final Tokenizer TOK = TinyTokenizers.bert();
    /** The template the planted model was trained with. */
    static final Template PLANTED = Template.parse("{text} it was {mask} .");
    /** The planted label words. */
    static final Verbalizer PLANTED_WORDS = Verbalizer.parse("neg=terrible;pos=great");

    private MiningFixtures() {
    }

    static PeftModel tinyBert() {
        return PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), DataType.FLOAT), "bert-tiny");
    }

    /**
     * 24 records per class (subject x verb x opinion, e.g. "the plot was awful"); every other one of each class for
     * training (12 per class), the rest for dev.
     */
    static List<TextRecord> records(boolean train) {
        String[] subjects = {"the movie", "a film", "the plot", "the acting"};
        String[] verbs = {"is", "was"};
        String[][] opinions = {{"good", "fine", "super"}, {"bad", "awful", "not good"}};
        String[] labels = {"pos", "neg"};
        List<TextRecord> out = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            int n = 0;
            for (String s : subjects) {
                for (String v : verbs) {
                    for (String o : opinions[c]) {
                        if ((n++ % 2 == 0) == train) out.add(new TextRecord(Map.of("text", s + " " + v + " " + o), labels[c], train ? "synthetic-train" : "synthetic-dev", out.size() + 1));
                    }
                }
            }
        }
        return out;
    }

    /** A template the planted model was trained to answer wrongly: the words of the other class. */
    static final Template SWAPPED = Template.parse("{mask} : {text}");

    /**
     * The tiny BERT trained (seeded; the same model every run) to answer {@link #PLANTED_WORDS} at {@link #PLANTED}'s
     * mask, and the other class's word at {@link #SWAPPED}'s.
     */
    static PeftModel planted() {
        PeftModel m = tinyBert();
        m.unfreezeBase();
        PromptClassifier right = PromptClassifier.of(m, TOK, PLANTED, PLANTED_WORDS), wrong = PromptClassifier.of(m, TOK, SWAPPED, PLANTED_WORDS);
        List<PromptClassifier.Example> ex = new ArrayList<>();
        for (TextRecord r : records(true)) {
            ex.add(right.example(r.fields(), r.label()));
            ex.add(wrong.example(r.fields(), r.label().equals("pos") ? "neg" : "pos"));
        }
        var cfg = TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(8, 1).withMaxSteps(80).withWarmup(0, Schedule.CONSTANT).withSeed(7);
        new Trainer<>(m, PromptClassifier.objective(), cfg).fit(ex, null, null);
        for (var t : m.base().parameters().values()) t.setTrainable(false);
        return PeftModel.of(m.base(), "bert-tiny-planted");                  // a frozen base again
    }
}
