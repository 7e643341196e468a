package io.peft4j.spark;

import io.peft4j.prompt.task.ClassifierDirectory;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import static org.apache.spark.sql.functions.callUDF;
import static org.apache.spark.sql.functions.lit;

/**
 * Distributed batch inference with saved classifiers (directories {@code peft train --output} or
 * {@link ClassifierDirectory#write} wrote) as Spark SQL functions. {@link #register} names the classifiers and registers
 * two functions with the session:
 *
 * <pre>{@code
 * PeftFunctions.register(spark, Map.of("spam", "/models/spam-lora", "topic", "/models/topic-ia3"));
 * df.withColumn("label", PeftFunctions.classify(col("text"), "spam"));
 * spark.sql("SELECT text, peft_classify('spam', text) AS label, peft_probabilities('topic', text) AS p FROM messages");
 * }</pre>
 *
 * {@value #CLASSIFY}{@code (classifier, text)} gives the label, {@value #PROBABILITIES}{@code (classifier, text)} a map
 * from each label to its probability; a null text gives null. Each executor JVM loads a classifier the first time a task
 * asks for it and keeps it (a small pool per classifier: a model runs one pass at a time). The functions score one text a
 * call; {@link Classifiers#classify(Dataset, String, String, String, int)} scores a partition in batches.
 */
public final class PeftFunctions {
    /** The SQL function names. */
    public static final String CLASSIFY = "peft_classify", PROBABILITIES = "peft_probabilities";

    private PeftFunctions() {
    }

    /**
     * Registers {@value #CLASSIFY} and {@value #PROBABILITIES} for {@code classifiers} (name to directory, a path every
     * executor can read); each classifier runs on the base model its {@code task.json} names.
     */
    public static Classifiers register(SparkSession spark, Map<String, String> classifiers) {
        return register(spark, classifiers, null);
    }

    /** As {@link #register(SparkSession, Map)}, every classifier on {@code baseModel} (a directory or known name) instead. */
    public static Classifiers register(SparkSession spark, Map<String, String> classifiers, String baseModel) {
        if (classifiers.isEmpty()) throw new IllegalArgumentException("no classifiers to register");
        Classifiers c = new Classifiers(new TreeMap<>(classifiers), baseModel);
        spark.udf().register(CLASSIFY, (UDF2<String, String, String>) c::label, DataTypes.StringType);
        spark.udf().register(PROBABILITIES, (UDF2<String, String, Map<String, Double>>) c::probabilities,
                DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType));
        return c;
    }

    /** The label classifier {@code classifier} gives {@code text} ({@value #CLASSIFY}). */
    public static Column classify(Column text, String classifier) {
        return callUDF(CLASSIFY, lit(classifier), text);
    }

    /** Each label's probability for {@code text} under {@code classifier}, as a map column ({@value #PROBABILITIES}). */
    public static Column probabilities(Column text, String classifier) {
        return callUDF(PROBABILITIES, lit(classifier), text);
    }

    /** The registered classifiers: what the functions carry to the executors (names and directories, never a model). */
    public static final class Classifiers implements Serializable {
        private static final long serialVersionUID = 1L;
        private final TreeMap<String, String> dirs;
        private final String baseModel;

        Classifiers(TreeMap<String, String> dirs, String baseModel) {
            this.dirs = dirs;
            this.baseModel = baseModel;
        }

        /** The label of {@code text} (null for null). */
        public String label(String classifier, String text) {
            if (text == null) return null;
            return use(classifier, c -> c.classifier().labels().get(c.classifier().predict(List.of(record(classifier, c, text)), 1)[0]));
        }

        /** Each label's probability for {@code text} (null for null). */
        public Map<String, Double> probabilities(String classifier, String text) {
            if (text == null) return null;
            return use(classifier, c -> ClassifierDirectory.probabilities(c.classifier(), List.of(record(classifier, c, text)), 1).get(0));
        }

        /**
         * {@code rows} with a column {@code outputColumn} holding the label of {@code textColumn}'s text, computed a
         * partition at a time in batches of {@code batchSize} texts (faster than the row-at-a-time function).
         */
        public Dataset<Row> classify(Dataset<Row> rows, String textColumn, String classifier, String outputColumn, int batchSize) {
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, not " + batchSize);
            StructType in = rows.schema();
            int field = in.fieldIndex(textColumn);
            if (!in.fields()[field].dataType().equals(DataTypes.StringType)) {
                throw new IllegalArgumentException("column '" + textColumn + "' is " + in.fields()[field].dataType().simpleString() + ", not a string");
            }
            if (!dirs.containsKey(classifier)) throw unknown(classifier);
            StructType out = in.add(outputColumn, DataTypes.StringType, true);
            Classifiers self = this;
            return rows.mapPartitions((MapPartitionsFunction<Row, Row>) it -> self.labelled(it, field, classifier, batchSize), Encoders.row(out));
        }

        private Iterator<Row> labelled(Iterator<Row> it, int field, String classifier, int batchSize) {
            return new Iterator<Row>() {
                final List<Row> pending = new ArrayList<>();
                int next;

                public boolean hasNext() {
                    if (next < pending.size()) return true;
                    pending.clear();
                    next = 0;
                    List<Row> batch = new ArrayList<>();
                    while (batch.size() < batchSize && it.hasNext()) batch.add(it.next());
                    if (batch.isEmpty()) return false;
                    pending.addAll(score(batch));
                    return true;
                }

                public Row next() {
                    if (!hasNext()) throw new java.util.NoSuchElementException();
                    return pending.get(next++);
                }

                private List<Row> score(List<Row> batch) {
                    List<Integer> at = new ArrayList<>();
                    List<String> texts = new ArrayList<>();
                    for (int i = 0; i < batch.size(); i++) {
                        if (!batch.get(i).isNullAt(field)) {
                            at.add(i);
                            texts.add(batch.get(i).getString(field));
                        }
                    }
                    String[] labels = new String[batch.size()];
                    if (!texts.isEmpty()) {
                        use(classifier, c -> {
                            List<Map<String, String>> records = new ArrayList<>();
                            for (String t : texts) records.add(record(classifier, c, t));
                            int[] p = c.classifier().predict(records, batchSize);
                            for (int k = 0; k < p.length; k++) labels[at.get(k)] = c.classifier().labels().get(p[k]);
                            return null;
                        });
                    }
                    List<Row> out = new ArrayList<>(batch.size());
                    for (int i = 0; i < batch.size(); i++) {
                        Row r = batch.get(i);
                        Object[] v = new Object[r.length() + 1];
                        for (int j = 0; j < r.length(); j++) v[j] = r.get(j);
                        v[r.length()] = labels[i];
                        out.add(RowFactory.create(v));
                    }
                    return out;
                }
            };
        }

        /** Runs {@code body} with classifier {@code name} borrowed from this executor's cache (loaded on first use). */
        private <T> T use(String name, Function<ClassifierDirectory.Loaded, T> body) {
            String dir = dirs.get(name);
            if (dir == null) throw unknown(name);
            String where = " (executor " + (SparkEnv.get() == null ? "?" : SparkEnv.get().executorId()) + ")";
            String key = "classifier|" + dir + "|" + baseModel;
            ClassifierDirectory.Loaded c = ExecutorFault.during("loading classifier '" + name + "' from " + dir + where,
                    () -> ExecutorCache.borrow(key, () -> ClassifierDirectory.load(Path.of(dir), baseModel)));
            T out = ExecutorFault.during("classifying with '" + name + "'" + where, () -> body.apply(c));
            ExecutorCache.giveBack(key, c);
            return out;
        }

        private IllegalArgumentException unknown(String name) {
            return new IllegalArgumentException("no classifier named '" + name + "' is registered (registered: " + dirs.keySet() + ")");
        }

        /** {@code text} as the record classifier {@code name} reads: the one text field it was trained on. */
        private static Map<String, String> record(String name, ClassifierDirectory.Loaded c, String text) {
            List<String> fields = c.task().data().textFields();
            if (fields.size() != 1) {
                throw new IllegalArgumentException("classifier '" + name + "' reads " + fields.size() + " text fields " + fields + "; these functions give it one text");
            }
            return Map.of(fields.get(0), text);
        }
    }
}
