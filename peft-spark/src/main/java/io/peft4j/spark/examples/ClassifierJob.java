package io.peft4j.spark.examples;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.task.TaskConfig;
import io.peft4j.spark.ObjectiveFactory;
import io.peft4j.spark.PeftFunctions;
import io.peft4j.spark.SparkTrainer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * A text classifier trained on Spark and used on Spark: LoRA and a classification head on a frozen base, trained
 * data-parallel on a tab-separated file of {@code text<TAB>label} lines (tokenized on the executors), saved as a
 * classifier directory, then every line of a file of texts labelled through the {@code peft_classify} function.
 *
 * <pre>
 * spark-submit --class io.peft4j.spark.examples.ClassifierJob ... MODEL_DIR TRAIN.tsv TEXTS.txt OUTPUT_DIR [STEPS [PARTITIONS]]
 * </pre>
 *
 * {@code MODEL_DIR} (a base with its tokenizer files) and {@code OUTPUT_DIR} must be paths every executor can read. Each
 * step takes 8 examples per partition: one micro-batch on each.
 * Writes {@code OUTPUT_DIR/checkpoints} (resumed when the job is rerun), {@code OUTPUT_DIR/classifier} and
 * {@code OUTPUT_DIR/scored} (Spark's CSV part files: text, label).
 */
public final class ClassifierJob {
    private ClassifierJob() {
    }

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: ClassifierJob MODEL_DIR TRAIN.tsv TEXTS.txt OUTPUT_DIR [STEPS [PARTITIONS]]");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("peft4j classifier").getOrCreate();
        try {
            int steps = args.length > 4 ? Integer.parseInt(args[4]) : 100;
            int partitions = args.length > 5 ? Integer.parseInt(args[5]) : spark.sparkContext().defaultParallelism();
            long t0 = System.nanoTime();
            TrainingResult r = run(spark, Path.of(args[0]), args[1], args[2], Path.of(args[3]), steps, partitions);
            System.out.printf("trained %d steps (final loss %.4f) and scored in %.1f s%n", r.steps(), r.lastLoss(), (System.nanoTime() - t0) / 1e9);
        } finally {
            spark.stop();
        }
    }

    /** Trains, saves and scores as {@link ClassifierJob} says; returns the training run. */
    public static TrainingResult run(SparkSession spark, Path modelDir, String trainFile, String textsFile, Path out, int steps, int partitions) {
        int maxLength = 128;
        Dataset<Row> train = spark.read().option("sep", "\t").schema("text STRING, label STRING").csv(trainFile);
        List<String> labels = train.select("label").distinct().orderBy("label").as(Encoders.STRING()).collectAsList();

        // the driver's model: the frozen base, LoRA, and a head on the [CLS] token (a decoder's last token)
        PeftModel model = PeftModel.of(Models.load(modelDir, DataType.FLOAT), modelDir.toString());
        model.add(PeftModel.DEFAULT, LoraConfig.defaults().withR(8), 42);
        Pooling pooling = model.base().architecture().decoder() ? Pooling.LAST : Pooling.CLS;
        model.setHead(ClassificationHead.classification(pooling, labels, model.base().config().hidden(), DataType.FLOAT, 42));

        // token ids, made on the executors (each partition loads the tokenizer once)
        JavaRDD<Example.Classification> examples = train.javaRDD().mapPartitions(new Encode(modelDir.toString(), labels, maxLength));

        // one micro-batch of 8 per partition in each step: with fewer micro-batches than partitions some would stay idle
        TrainingConfig cfg = TrainingConfig.defaults().withLearningRate(5e-4).withBatchSize(8, partitions).withMaxSteps(steps)
                .withCheckpoints(out.resolve("checkpoints"), 25, true);
        TrainingResult result = new SparkTrainer<>(spark, model, modelDir, ObjectiveFactory.classification(0), cfg)
                .partitions(partitions)
                .addListener(new TrainingListener() {
                    public void onStep(Progress p) {
                        if (p.step() % 10 == 0 || p.step() == p.totalSteps()) System.out.printf("step %d/%d loss %.4f%n", p.step(), p.totalSteps(), p.loss());
                    }
                })
                .fit(examples);

        // a classifier directory, then the texts labelled by it on the executors
        TextEncoder encoder = new TextEncoder(Tokenizers.load(modelDir), List.of("text"), maxLength, Truncation.END);
        Path classifier = out.resolve("classifier");
        ClassifierDirectory.write(classifier, model, new HeadClassifier(model, encoder),
                new TaskConfig(modelDir.toString(), labels, DataSpec.defaults(), maxLength, Truncation.END, "lora", Map.of("steps", steps)),
                Map.of("final_loss", result.lastLoss()), modelDir);
        PeftFunctions.register(spark, Map.of("mine", classifier.toString()));
        spark.read().option("sep", "\t").schema("text STRING").csv(textsFile)
                .withColumn("label", PeftFunctions.classify(col("text"), "mine"))
                .write().mode("overwrite").option("sep", "\t").csv(out.resolve("scored").toString());
        return result;
    }

    /** Rows of (text, label) to classification examples, through the model's tokenizer. */
    static final class Encode implements FlatMapFunction<Iterator<Row>, Example.Classification> {
        private final String modelDir;
        private final List<String> labels;
        private final int maxLength;

        Encode(String modelDir, List<String> labels, int maxLength) {
            this.modelDir = modelDir;
            this.labels = new ArrayList<>(labels);
            this.maxLength = maxLength;
        }

        @Override
        public Iterator<Example.Classification> call(Iterator<Row> rows) {
            TextEncoder encoder = new TextEncoder(Tokenizers.load(Path.of(modelDir)), List.of("text"), maxLength, Truncation.END);
            List<Example.Classification> out = new ArrayList<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                if (r.isNullAt(0) || r.isNullAt(1)) continue;
                Encoding e = encoder.encode(new TextRecord(Map.of("text", r.getString(0)), r.getString(1), "training data", out.size() + 1));
                out.add(new Example.Classification(e.ids(), e.typeIds(), labels.indexOf(r.getString(1))));
            }
            return out.iterator();
        }
    }
}
