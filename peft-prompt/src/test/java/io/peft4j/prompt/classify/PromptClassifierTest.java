package io.peft4j.prompt.classify;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.GradCheck;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.TinyTokenizers;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.template.Rendered;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.prompt.verbalizer.Calibration;
import io.peft4j.prompt.verbalizer.MultiToken;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.peft4j.prompt.TinyTokenizers.bertId;
import static io.peft4j.prompt.TinyTokenizers.gpt2Text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class PromptClassifierTest {
    private static final Tokenizer BERT_TOK = TinyTokenizers.bert();
    private static final Template SENTIMENT = Template.parse("{text} it was {mask} .");
    private static final Verbalizer GOOD_BAD = Verbalizer.parse("positive=good,great;negative=bad");

    private static PeftModel bert(DataType type) {
        return PeftModel.of(Models.load(Fixtures.dir("bert-tiny"), type), "bert-tiny");
    }

    private static PeftModel gpt2(DataType type) {
        return PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), type), "gpt2-tiny");
    }

    private static Map<String, String> text(String t) {
        return Map.of("text", t);
    }

    /** Moves every parameter of an adapter away from its (often identity) start, so that it changes the model. */
    private static void perturb(Adapter a, long seed) {
        int i = 0;
        for (Tensor p : a.parameters().values()) p.value().addi(Init.normal(seed + i++, 0.2, p.dataType(), p.shape()));
    }

    // ------------------------------------------------------------------ against the reference's logits

    private static double lse(double[] z) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double x : z) m = Math.max(m, x);
        for (double x : z) s += Math.exp(x - m);
        return m + Math.log(s);
    }

    /**
     * GPT-2 tiny, end to end: the record renders to the reference's input ids, the answer is read after the last
     * token, and the class scores equal those written out by hand from the reference's logits at that position.
     */
    @ParameterizedTest
    @EnumSource(value = MultiToken.class, names = {"FIRST", "MEAN", "MAX"})
    void decoderClassScoresEqualTheHandComputationFromTheReferenceLogits(MultiToken h) {
        var exp = Fixtures.expected("gpt2-tiny");
        int[] ids = Fixtures.ints(exp.get("input_ids"));
        double[] z = Fixtures.matrix(exp.get("logits"))[ids.length - 1];
        PeftModel m = gpt2(DataType.DOUBLE);
        // a: 'k' (74) and 'mn' (76 77); b: '5' (20); c: '?@A' (30 31 32) and '&' (5)
        Verbalizer v = Verbalizer.parse("a=k,mn;b=5;c=?@A,&").withPrefix("").withMultiToken(h);
        PromptClassifier clf = PromptClassifier.of(m, TinyTokenizers.gpt2(), Template.parse("{text}{mask} ignored words"), v);
        Map<String, String> rec = text(gpt2Text(ids));
        Rendered r = clf.render(rec);
        assertThat(r.ids()).containsExactly(ids);
        assertThat(r.answerPosition()).isEqualTo(ids.length - 1);

        double l = lse(z);
        java.util.function.Function<int[], Double> word = t -> {
            double[] v2 = java.util.Arrays.stream(t).mapToDouble(id -> z[id] - l).toArray();
            return switch (h) {
                case SINGLE, FIRST -> v2[0];
                case MEAN -> java.util.Arrays.stream(v2).average().orElseThrow();
                case MAX -> java.util.Arrays.stream(v2).max().orElseThrow();
            };
        };
        double[] expected = {(word.apply(new int[]{74}) + word.apply(new int[]{76, 77})) / 2, word.apply(new int[]{20}),
                (word.apply(new int[]{30, 31, 32}) + word.apply(new int[]{5})) / 2};
        double[] ours = clf.classScores(List.of(rec), 1)[0];
        // the reference's logits are stored to about 7 significant digits
        for (int c = 0; c < 3; c++) assertThat(ours[c]).as("class %d", c).isCloseTo(expected[c], within(1e-6));
        // the vocabulary row at the answer: the reference's log-softmax
        INDArray row = clf.vocabularyLogProbs(List.of(rec), 1);
        for (int i = 0; i < z.length; i++) assertThat(row.getDouble(0, i)).isCloseTo(z[i] - l, within(1e-6));
    }

    /** BERT: the answer is the mask's row of the LM logits over the whole sequence, run through the verbalizer. */
    @Test
    void maskedLmScoresAreTheVerbalizersScoresOfTheFullLogitsAtTheMask() {
        PeftModel m = bert(DataType.DOUBLE);
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, SENTIMENT, GOOD_BAD);
        List<Map<String, String>> recs = List.of(text("the movie was great"), text("a film"), text("the acting is not awful , the plot is fine"));
        double[][] ours = clf.classScores(recs, 2);
        for (int i = 0; i < recs.size(); i++) {
            Rendered r = clf.render(recs.get(i));
            ModelOutput out = m.forward(new Batch(new int[][]{r.ids()}, new int[][]{r.tokenTypes()}, null), ForwardContext.inference(1));
            INDArray all = m.base().lmLogits(out.hidden()).value();                    // [1, T, V]: every position
            INDArray atMask = all.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.point(r.answerPosition()),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).reshape(1, all.size(2));
            double[] expected = clf.labelWords().scores(Tensor.constant(atMask)).value().toDoubleVector();
            assertThat(r.ids()[r.answerPosition()]).isEqualTo(BERT_TOK.maskId());
            for (int c = 0; c < 2; c++) assertThat(ours[i][c]).isCloseTo(expected[c], within(1e-10));
        }
        INDArray lp = clf.vocabularyLogProbs(recs, 3);
        for (int i = 0; i < recs.size(); i++) {
            assertThat(org.nd4j.linalg.ops.transforms.Transforms.exp(lp.getRow(i), true).sumNumber().doubleValue()).isCloseTo(1.0, within(1e-10));
            assertThat(ours[i][1]).isCloseTo(lp.getDouble(i, bertId("bad")), within(1e-10));
        }
    }

    // ------------------------------------------------------------------ calibration, prediction

    /** Zhao et al.: calibration makes the content-free input's prediction uniform across the labels. */
    @Test
    void contentFreeCalibrationMakesNaUniform() {
        PromptClassifier clf = PromptClassifier.of(bert(DataType.DOUBLE), BERT_TOK, SENTIMENT, Verbalizer.parse("positive=good;negative=bad;neutral=fine"));
        double[] before = clf.logProbabilities(List.of(text("N/A")), 1)[0];
        assertThat(Math.abs(before[0] - before[1])).as("uncalibrated, N/A is not uniform").isGreaterThan(1e-3);
        PromptClassifier cal = clf.withCalibration(clf.contentFreeCalibration());
        for (double lp : cal.logProbabilities(List.of(text("N/A")), 1)[0]) assertThat(lp).isCloseTo(Math.log(1.0 / 3), within(1e-9));
        // predictions follow the calibrated probabilities
        List<Map<String, String>> recs = List.of(text("good"), text("bad"), text("fine"), text("the plot"));
        double[][] lp = cal.logProbabilities(recs, 4);
        int[] pred = cal.predict(recs, 4);
        for (int i = 0; i < recs.size(); i++) {
            for (int c = 0; c < 3; c++) assertThat(lp[i][pred[i]]).isGreaterThanOrEqualTo(lp[i][c]);
        }
        assertThatThrownBy(() -> clf.withCalibration(Calibration.of(new double[]{0, 0}))).isInstanceOf(PeftException.class)
                .hasMessage("a calibration of 2 classes for a classifier of 3");
    }

    @Test
    void unlabelledCalibrationUsesTheMeanVocabularyRow() {
        PromptClassifier clf = PromptClassifier.of(bert(DataType.DOUBLE), BERT_TOK, SENTIMENT, GOOD_BAD);
        List<Map<String, String>> recs = List.of(text("the movie"), text("a film is fine"), text("the plot"));
        Calibration cal = clf.unlabelledCalibration(recs, 2);
        INDArray mean = clf.vocabularyLogProbs(recs, 3).mean(0);
        double lse = Math.log(org.nd4j.linalg.ops.transforms.Transforms.exp(mean, true).sumNumber().doubleValue());
        // positive = mean of good and great, negative = bad, over the renormalised mean row
        double pos = (mean.getDouble(bertId("good")) + mean.getDouble(bertId("great"))) / 2 - lse, neg = mean.getDouble(bertId("bad")) - lse;
        assertThat(cal.reference()).containsExactly(new double[]{pos, neg}, within(1e-10));
    }

    // ------------------------------------------------------------------ mixed batches

    /**
     * Rows of one batch with different templates (one with soft tokens), verbalizers of 2 and 3 classes, a head of
     * 4 classes, and different adapters (two LoRAs and none): each row's scores equal the row scored alone, and the
     * loss's gradient for one adapter comes from that adapter's rows only.
     */
    @Test
    void mixedBatchRowsEqualTheRowsAloneAndGradientsComeFromTheirOwnRows() {
        PeftModel m = bert(DataType.DOUBLE);
        perturb(m.add("a", LoraConfig.defaults().withR(2).withTargetModules("query", "value", "output.dense")), 1);
        perturb(m.add("b", LoraConfig.defaults().withR(2)), 2);
        m.setHead(new ClassificationHead(Pooling.CLS, List.of("w", "x", "y", "z"), false, 32, 0.0, DataType.DOUBLE, 3));
        PromptClassifier two = PromptClassifier.of(m, BERT_TOK, SENTIMENT, GOOD_BAD);
        PromptClassifier three = PromptClassifier.builder(m, BERT_TOK, Template.parse("{field:subject} . {soft} {text} {soft:good film} {mask}"))
                .verbalizer(Verbalizer.parse("spam=spam,junk;ham=normal;other=fine")).build();
        perturb(m.adapter(PromptClassifier.SOFT_TOKENS), 4);
        PromptClassifier head = PromptClassifier.builder(m, BERT_TOK, Template.parse("{text} . {mask}")).head(PromptClassifier.HeadInput.MASK).build();
        List<PromptClassifier.Row> rows = List.of(
                new PromptClassifier.Row(two, text("the movie was great"), "a"),
                new PromptClassifier.Row(three, Map.of("subject", "spam", "text", "junk junk"), "b"),
                new PromptClassifier.Row(head, text("a film"), "a"),
                new PromptClassifier.Row(two, text("the plot is not good , the acting is"), "__base__"),
                new PromptClassifier.Row(three, Map.of("subject", "ham", "text", "normal"), "a"));
        PromptClassifier.Scores mixed = PromptClassifier.scores(rows, ForwardContext.inference(rows.size()));
        assertThat(mixed.classCounts()).containsExactly(2, 3, 4, 2, 3);
        INDArray v = mixed.values().value();
        assertThat(v.columns()).isEqualTo(4);
        for (int r = 0; r < rows.size(); r++) {
            INDArray alone = PromptClassifier.scores(List.of(rows.get(r)), ForwardContext.inference(1)).values().value();
            for (int c = 0; c < 4; c++) {
                if (c < mixed.classCounts()[r]) assertThat(v.getDouble(r, c)).as("row %d class %d", r, c).isCloseTo(alone.getDouble(0, c), within(1e-10));
                else assertThat(v.getDouble(r, c)).isEqualTo(PromptClassifier.ABSENT_CLASS);
            }
        }
        // the gradient of LoRA b's parameters: from its one row, scaled by 1/5 in the batch's mean loss
        List<PromptClassifier.Example> batch = List.of(two.example(text("the movie was great"), "positive", "a"),
                three.example(Map.of("subject", "spam", "text", "junk junk"), "ham", "b"), head.example(text("a film"), "y", "a"),
                two.example(text("the plot is not good , the acting is"), "negative", "__base__"),
                three.example(Map.of("subject", "ham", "text", "normal"), "other", "a"));
        Map<String, Tensor> b = m.adapter("b").parameters();
        b.values().forEach(Tensor::zeroGrad);
        PromptClassifier.objective().loss(m, batch, ForwardContext.inference(5)).backward();
        List<INDArray> fromMixed = b.values().stream().map(t -> t.grad().dup()).toList();
        b.values().forEach(Tensor::zeroGrad);
        PromptClassifier.objective().loss(m, List.of(batch.get(1)), ForwardContext.inference(1)).backward();
        int i = 0;
        for (Tensor t : b.values()) {
            INDArray alone = t.grad().div(5);
            assertThat(alone.amaxNumber().doubleValue()).isGreaterThan(1e-8);
            assertThat(fromMixed.get(i++).sub(alone).amaxNumber().doubleValue()).isLessThan(1e-10);
        }
    }

    // ------------------------------------------------------------------ training

    /** PET's loss (cross-entropy over the class scores) against central finite differences: LoRA and soft tokens on BERT, prompt tuning on GPT-2. */
    @Test
    void petLossGradientsMatchFiniteDifferences() {
        PeftModel m = bert(DataType.DOUBLE);
        Adapter lora = m.add("default", LoraConfig.defaults().withR(2));
        perturb(lora, 7);
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, Template.parse("{soft} {text} it was {soft:the} {mask} ."),
                Verbalizer.parse("positive=good,superb;negative=bad").withMultiToken(MultiToken.MEAN));
        List<PromptClassifier.Example> batch = List.of(clf.example(text("the movie was great"), "positive"), clf.example(text("a film"), "negative"),
                clf.example(text("the plot is not awful"), "positive"));
        List<Tensor> params = new ArrayList<>(lora.parameters().values());
        params.addAll(m.adapter(PromptClassifier.SOFT_TOKENS).parameters().values());
        GradCheck.check(() -> PromptClassifier.objective().loss(m, batch, ForwardContext.inference(3)), params, 12, 1e-5);

        PeftModel g = gpt2(DataType.DOUBLE);
        Adapter prompt = g.add("default", PromptTuningConfig.random(3));
        PromptClassifier dec = PromptClassifier.of(g, TinyTokenizers.gpt2(), Template.parse("{text}=>{mask}"), Verbalizer.parse("a=k,mn;b=5").withPrefix(""));
        List<PromptClassifier.Example> gb = List.of(dec.example(text("abc"), "a"), dec.example(text("x"), "b"));
        GradCheck.check(() -> PromptClassifier.objective().loss(g, gb, ForwardContext.inference(2)), new ArrayList<>(prompt.parameters().values()), 12, 1e-5);
    }

    private static List<PromptClassifier.Example> sentimentExamples(PromptClassifier clf) {
        List<PromptClassifier.Example> out = new ArrayList<>();
        String[] pos = {"the movie was great", "great acting", "a great film", "the plot is fine"};
        String[] neg = {"the movie was awful", "terrible acting", "a terrible film", "the plot is not fine"};
        for (int i = 0; i < pos.length; i++) {
            out.add(clf.example(text(pos[i]), "positive"));
            out.add(clf.example(text(neg[i]), "negative"));
        }
        return out;
    }

    private static TrainingResult train(PeftModel m, PromptClassifier clf, double lr, int steps) {
        var cfg = TrainingConfig.defaults().withLearningRate(lr).withBatchSize(8, 1).withMaxSteps(steps).withWarmup(0, io.peft4j.core.train.Schedule.CONSTANT).withSeed(3);
        return new Trainer<>(m, PromptClassifier.objective(), cfg).fit(sentimentExamples(clf), null, null);
    }

    /** A few full-batch steps of PET training lower the loss with every method (and with soft tokens alone). */
    @ParameterizedTest
    @ValueSource(strings = {"lora", "ia3", "bottleneck", "prompt", "ptuning", "prefix", "full", "soft"})
    void everyMethodLowersThePetLoss(String method) {
        PeftModel m = bert(DataType.FLOAT);
        switch (method) {
            case "lora" -> m.add("default", LoraConfig.defaults().withR(4));
            case "ia3" -> m.add("default", Ia3Config.defaults());
            case "bottleneck" -> m.add("default", BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER));
            case "prompt" -> m.add("default", PromptTuningConfig.random(4));
            case "ptuning" -> m.add("default", PTuningConfig.mlp(4, 16));
            case "prefix" -> m.add("default", PrefixTuningConfig.of(4));
            case "full" -> m.unfreezeBase();
            default -> { }
        }
        Template t = method.equals("soft") ? Template.parse("{soft} {soft} {text} it was {mask} .") : SENTIMENT;
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, t, GOOD_BAD);
        double lr = switch (method) {
            case "full" -> 1e-3;
            case "prompt", "ptuning", "prefix", "soft" -> 1e-1;     // embeddings of norm ~ sqrt(d) move slowly at 1e-2
            default -> 1e-2;
        };
        TrainingResult r = train(m, clf, lr, 12);
        List<Double> l = r.losses();
        assertThat(l.get(l.size() - 1)).as("%s: last loss vs first %s", method, l).isLessThan(l.get(0) - 0.05);
    }

    @Test
    void loraOnGpt2LowersThePetLossAndPredictsTheTrainingLabels() {
        PeftModel m = gpt2(DataType.FLOAT);
        m.add("default", LoraConfig.defaults().withR(4));
        PromptClassifier clf = PromptClassifier.of(m, TinyTokenizers.gpt2(), Template.parse("{text}:{mask}"), Verbalizer.parse("positive=k;negative=5").withPrefix(""));
        List<PromptClassifier.Example> data = List.of(clf.example(text("ab"), "positive"), clf.example(text("cd"), "negative"),
                clf.example(text("aab"), "positive"), clf.example(text("ccd"), "negative"));
        var cfg = TrainingConfig.defaults().withLearningRate(2e-2).withBatchSize(4, 1).withMaxSteps(30).withWarmup(0, io.peft4j.core.train.Schedule.CONSTANT);
        TrainingResult r = new Trainer<>(m, PromptClassifier.objective(), cfg).fit(data, data, PromptClassifier.accuracy(4));
        assertThat(r.losses().get(r.losses().size() - 1)).isLessThan(r.losses().get(0) * 0.5);
        assertThat(PromptClassifier.accuracy(4).evaluate(m, data)).isEqualTo(1.0);
    }

    // ------------------------------------------------------------------ a head instead of a verbalizer

    @Test
    void aTemplateCanFeedAClassificationHead() {
        PeftModel m = bert(DataType.DOUBLE);
        ClassificationHead h = new ClassificationHead(Pooling.CLS, List.of("positive", "negative"), false, 32, 0.0, DataType.DOUBLE, 5);
        m.setHead(h);
        PromptClassifier atMask = PromptClassifier.builder(m, BERT_TOK, SENTIMENT).head(PromptClassifier.HeadInput.MASK).build();
        PromptClassifier pooled = PromptClassifier.builder(m, BERT_TOK, Template.parse("{text} , {text_b}")).head(PromptClassifier.HeadInput.SEQUENCE).build();
        assertThat(atMask.labels()).containsExactly("positive", "negative");
        Map<String, String> rec = Map.of("text", "the movie was great", "text_b", "fine");
        double[] w0 = h.parameters().get("classifier.weight").value().getRow(0).toDoubleVector(), w1 = h.parameters().get("classifier.weight").value().getRow(1).toDoubleVector();
        double[] b = h.parameters().get("classifier.bias").value().toDoubleVector();
        for (PromptClassifier clf : List.of(atMask, pooled)) {
            Rendered r = clf.render(rec);
            ModelOutput out = m.forward(new Batch(new int[][]{r.ids()}, null, null), ForwardContext.inference(1));
            int pos = clf == atMask ? r.answerPosition() : 0;           // the mask, or CLS
            double[] x = out.hidden().value().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.point(pos),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).toDoubleVector();
            double s0 = b[0], s1 = b[1];
            for (int i = 0; i < x.length; i++) {
                s0 += w0[i] * x[i];
                s1 += w1[i] * x[i];
            }
            double[] ours = clf.classScores(List.of(rec), 1)[0];
            assertThat(ours).containsExactly(new double[]{s0, s1}, within(1e-10));
        }
        assertThat(pooled.render(rec).answerPosition()).isEqualTo(-1);
        // training the head (and LoRA) through the template
        PeftModel f = bert(DataType.FLOAT);
        f.add("default", LoraConfig.defaults().withR(4));
        f.setHead(ClassificationHead.classification(Pooling.CLS, List.of("positive", "negative"), 32, DataType.FLOAT, 1));
        PromptClassifier clf = PromptClassifier.builder(f, BERT_TOK, SENTIMENT).head(PromptClassifier.HeadInput.MASK).build();
        List<Double> l = train(f, clf, 1e-2, 12).losses();
        assertThat(l.get(l.size() - 1)).isLessThan(l.get(0) - 0.05);
    }

    // ------------------------------------------------------------------ files

    /** A saved classifier reads back whole: LoRA at the root, the soft tokens beside it, the template and verbalizer; or a head's input. */
    @Test
    void savedClassifiersReadBack(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        PeftModel m = bert(DataType.DOUBLE);
        perturb(m.add("default", LoraConfig.defaults().withR(2)), 3);
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, Template.parse("{soft} {text} it was {mask} ."), GOOD_BAD);
        perturb(m.adapter(PromptClassifier.SOFT_TOKENS), 5);
        m.setHead(new ClassificationHead(Pooling.CLS, List.of("x", "y"), false, 32, 0.0, DataType.DOUBLE, 3));
        PromptClassifier headed = PromptClassifier.builder(m, BERT_TOK, Template.parse("{text} , {text_b}")).head(PromptClassifier.HeadInput.SEQUENCE).build();
        java.nio.file.Path a = tmp.resolve("verbalizer"), b = tmp.resolve("head");
        io.peft4j.core.io.AtomicFiles.writeDirectory(a, t -> {
            m.writeFiles(t);
            clf.writeFiles(t);
        });
        io.peft4j.core.io.AtomicFiles.writeDirectory(b, t -> {
            m.writeFiles(t);
            headed.writeFiles(t);
        });
        assertThat(io.peft4j.core.io.Json.read(b.resolve(Template.FILE)).get("head_input").asText()).isEqualTo("sequence");
        assertThat(java.nio.file.Files.exists(b.resolve(Verbalizer.FILE))).isFalse();
        List<Map<String, String>> recs = List.of(Map.of("text", "the movie was great", "text_b", "fine"), Map.of("text", "a film", "text_b", "bad"));

        PeftModel m2 = bert(DataType.DOUBLE);
        m2.load(a, "default");
        PromptClassifier back = PromptClassifier.read(m2, BERT_TOK, a);       // loads a/soft_tokens itself
        assertThat(back.labels()).containsExactly("positive", "negative");
        double[][] x = clf.classScores(recs, 2), y = back.classScores(recs, 2);
        for (int i = 0; i < 2; i++) assertThat(y[i]).containsExactly(x[i], within(1e-12));
        PromptClassifier headBack = PromptClassifier.read(m2, BERT_TOK, b);   // m2 has the head from a (the same head)
        double[][] hx = headed.classScores(recs, 2), hy = headBack.classScores(recs, 2);
        for (int i = 0; i < 2; i++) assertThat(hy[i]).containsExactly(hx[i], within(1e-12));

        java.nio.file.Files.writeString(b.resolve(Template.FILE), "{\"template\": \"{text}\"}");
        assertThatThrownBy(() -> PromptClassifier.read(m2, BERT_TOK, b)).isInstanceOf(PeftException.class)
                .hasMessage(b.resolve(Template.FILE) + ": no verbalizer.json beside it and no field 'head_input'");
        assertThatThrownBy(() -> PromptClassifier.read(m2, BERT_TOK, tmp)).hasMessage(tmp + ": no template.json (not a prompt-based classifier)");
    }

    // ------------------------------------------------------------------ lengths and faults

    /** Prompt tuning's virtual tokens take positions too: the default length leaves room for them, and a long record is cut to fit. */
    @Test
    void defaultLengthLeavesRoomForVirtualTokens() {
        PeftModel m = bert(DataType.FLOAT);
        m.add("default", PromptTuningConfig.random(5));
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, SENTIMENT, GOOD_BAD);
        assertThat(clf.encoder().maxLength()).isEqualTo(40 - 5);
        Map<String, String> longText = text(String.join(" ", java.util.Collections.nCopies(60, "movie")));
        Rendered r = clf.render(longText);
        assertThat(r.length()).isEqualTo(35);
        assertThat(r.truncatedTokens()).isEqualTo(60 - (35 - 6));
        assertThat(clf.classScores(List.of(longText, text("good")), 2)).hasDimensions(2, 2);
    }

    @Test
    void badSetUpsFailWithOneMessage() {
        PeftModel m = bert(DataType.FLOAT);
        assertThatThrownBy(() -> PromptClassifier.builder(m, BERT_TOK, SENTIMENT).head(PromptClassifier.HeadInput.MASK).build()).isInstanceOf(PeftException.class)
                .hasMessage("a template that feeds a head needs a classification head on the model (PeftModel.setHead) first");
        m.add("soft_tokens", LoraConfig.defaults());
        assertThatThrownBy(() -> PromptClassifier.of(m, BERT_TOK, Template.parse("{soft} {text} {mask}"), GOOD_BAD)).isInstanceOf(PeftException.class)
                .hasMessageStartingWith("adapter 'soft_tokens' is not the 1 soft tokens of template '{soft} {text} {mask}'");
        assertThatThrownBy(() -> PromptClassifier.of(m, TinyTokenizers.gpt2(), SENTIMENT, GOOD_BAD)).isInstanceOf(PeftException.class)
                .hasMessageContaining("the tokenizer has no mask token");
        PromptClassifier clf = PromptClassifier.of(m, BERT_TOK, SENTIMENT, GOOD_BAD);
        assertThatThrownBy(() -> clf.example(text("x"), "neutral")).isInstanceOf(PeftException.class)
                .hasMessage("label 'neutral' is not one of the classifier's labels [positive, negative]");
        PromptClassifier other = PromptClassifier.of(bert(DataType.FLOAT), BERT_TOK, SENTIMENT, GOOD_BAD);
        assertThatThrownBy(() -> PromptClassifier.scores(List.of(new PromptClassifier.Row(clf, text("a"), null), new PromptClassifier.Row(other, text("a"), null)),
                ForwardContext.inference(2))).hasMessage("rows of one batch must use classifiers of one model");
    }
}
