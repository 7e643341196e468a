package io.peft4j.spark;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.task.ClassifierTraining;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Batch inference in local Spark with two classifiers (LoRA + head on bert-tiny, trained 4 steps each, saved as classifier
 * directories): the SQL functions and the batched column give what the loaded classifier predicts in this process.
 */
class PeftFunctionsTest {
    static final List<String[]> TRAIN = List.of(new String[]{"the plot was boring and the acting was awful", "negative"},
            new String[]{"i hated this film", "negative"}, new String[]{"not good, very bad", "negative"},
            new String[]{"i loved this movie, really great story", "positive"}, new String[]{"a fun film, all good", "positive"},
            new String[]{"great acting and a fine plot", "positive"});
    static final List<String> TEXTS = List.of("a terrible story", "really fun", "the plot was fine", "i loved the acting",
            "bad and boring", "not great", "all good fun", "this film is awful", "very very good", "hated it");

    @TempDir
    static Path tmp;
    static Path base, sentiment, length;

    @BeforeAll
    static void trainTwoClassifiers() throws Exception {
        TestSpark.session();
        base = tinyBert(tmp.resolve("bert-tiny-wordpiece"));
        sentiment = train(tmp.resolve("sentiment"), r -> r[1], 5);
        length = train(tmp.resolve("length"), r -> r[0].length() > 20 ? "long" : "short", 6);
    }

    /** bert-tiny with a WordPiece vocabulary of its 101 ids (as peft-fuzz's seeds give it one). */
    static Path tinyBert(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String f : new String[]{"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.dir("bert-tiny").resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", "'"));
        for (char c = 'a'; c <= 'z'; c++) v.add(String.valueOf(c));
        for (char c = 'a'; c <= 'z'; c++) v.add("##" + c);
        v.addAll(List.of("it", "was", "the", "this", "movie", "film", "plot", "good", "bad", "great", "terrible", "fine", "awful", "not",
                "and", "all", "in", "is", "of", "to", "very", "really", "boring", "fun", "loved", "hated", "acting", "story", "review",
                "title", "yes", "no", "positive", "negative", "spam", "ham", "free", "##s", "##ed"));
        assertThat(v).hasSize(101);
        Files.write(dir.resolve("vocab.txt"), v, StandardCharsets.UTF_8);
        Json.write(dir.resolve("tokenizer_config.json"), Map.of("do_lower_case", true, "tokenizer_class", "BertTokenizer"));
        return dir;
    }

    /** LoRA r 4 and a classification head trained 2 epochs (4 steps) on {@link #TRAIN} labelled by {@code label}, saved. */
    static Path train(Path dir, java.util.function.Function<String[], String> label, long seed) {
        var setup = new ClassifierTraining.Setup(base.toString(), new ClassifierTraining.Method.Adapter("lora", LoraConfig.defaults().withR(4)),
                null, null, DataSpec.defaults(), 32, Truncation.END,
                TrainingConfig.defaults().withLearningRate(1e-2).withBatchSize(3, 1).withEpochs(2).withSeed(seed));
        List<TextRecord> records = new ArrayList<>();
        for (int i = 0; i < TRAIN.size(); i++) records.add(new TextRecord(Map.of("text", TRAIN.get(i)[0]), label.apply(TRAIN.get(i)), "train", i + 1));
        ClassifierTraining.train(Models.load(base, DataType.FLOAT), Tokenizers.load(base), setup, records, List.of()).save(dir, base);
        return dir;
    }

    /** What the classifier in {@code dir}, loaded here, predicts for {@link #TEXTS}. */
    static List<String> expected(Path dir) {
        var c = ClassifierDirectory.load(dir, null).classifier();
        int[] p = c.predict(TEXTS.stream().map(t -> Map.of("text", t)).toList(), 4);
        return java.util.Arrays.stream(p).mapToObj(i -> c.labels().get(i)).toList();
    }

    static Dataset<Row> texts() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) rows.add(RowFactory.create(i, TEXTS.get(i)));
        rows.add(RowFactory.create(TEXTS.size(), null));
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return TestSpark.session().createDataFrame(rows, schema).repartition(3);
    }

    @Test
    void theSqlFunctionsAndTheBatchedColumnGiveWhatTheLoadedClassifierPredicts() {
        var spark = TestSpark.session();
        var registered = PeftFunctions.register(spark, Map.of("sentiment", sentiment.toString(), "length", length.toString()));
        List<String> sent = expected(sentiment), len = expected(length);
        assertThat(sent).contains("positive", "negative");                 // trained enough to tell some texts apart

        List<Row> out = texts().select(col("id"), PeftFunctions.classify(col("text"), "sentiment").as("s"),
                PeftFunctions.classify(col("text"), "length").as("l"), PeftFunctions.probabilities(col("text"), "sentiment").as("p"))
                .orderBy("id").collectAsList();
        assertThat(out).hasSize(TEXTS.size() + 1);
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(out.get(i).getString(1)).as(TEXTS.get(i)).isEqualTo(sent.get(i));
            assertThat(out.get(i).getString(2)).as(TEXTS.get(i)).isEqualTo(len.get(i));
            Map<String, Double> p = out.get(i).getJavaMap(3);
            assertThat(p.keySet()).containsExactlyInAnyOrder("negative", "positive");
            assertThat(p.values().stream().mapToDouble(d -> d).sum()).isCloseTo(1, within(1e-6));
            assertThat(p.get(sent.get(i))).isGreaterThanOrEqualTo(0.5);
        }
        assertThat(out.get(TEXTS.size()).isNullAt(1)).isTrue();          // a null text: a null label

        texts().createOrReplaceTempView("messages");
        List<Row> sql = spark.sql("SELECT id, peft_classify('sentiment', text) FROM messages WHERE text IS NOT NULL ORDER BY id").collectAsList();
        for (int i = 0; i < TEXTS.size(); i++) assertThat(sql.get(i).getString(1)).isEqualTo(sent.get(i));

        List<Row> batched = registered.classify(texts(), "text", "length", "label", 4).orderBy("id").collectAsList();
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(batched.get(i).getString(1)).isEqualTo(TEXTS.get(i));
            assertThat(batched.get(i).getString(2)).isEqualTo(len.get(i));
        }
        assertThat(batched.get(TEXTS.size()).isNullAt(2)).isTrue();
    }

    @Test
    void anUnknownClassifierOrAnUnreadableDirectoryFailsNamingIt(@TempDir Path empty) {
        var spark = TestSpark.session();
        var registered = PeftFunctions.register(spark, Map.of("broken", empty.toString()));
        assertThatThrownBy(() -> texts().select(PeftFunctions.classify(col("text"), "broken")).collectAsList())
                .hasStackTraceContaining("loading classifier 'broken' from " + empty)
                .hasStackTraceContaining("not a trained classifier (no task.json");
        assertThatThrownBy(() -> registered.classify(texts(), "text", "nope", "label", 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no classifier named 'nope' is registered (registered: [broken])");
    }
}
