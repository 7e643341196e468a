/**
 * Labelled text data: JSON-lines and CSV readers, built-in datasets, k-shot sampling and encoding into
 * training examples.
 *
 * <p>A file or a built-in dataset is read into {@link io.peft4j.core.data.TextRecord}s as a
 * {@link io.peft4j.core.data.DataSpec} says (text field or text pair, label field, label map, limit,
 * format); {@link io.peft4j.core.data.Sampling} draws stratified k-shot samples;
 * {@link io.peft4j.core.data.TextEncoder} turns records into {@link io.peft4j.core.train.Example.Classification}s.
 * Every fault in the data is one {@link io.peft4j.core.PeftException} naming the file and line.
 *
 * <pre>{@code
 * List<TextRecord> train = Datasets.load("spam", Split.TRAIN);            // built-in: subject + body, ham/spam
 * List<TextRecord> dev = Datasets.load("spam", Split.DEV);
 * List<TextRecord> shots = Sampling.kShot(train, 16, 42);                  // 16 per label
 * List<String> labels = Labels.of(train);                                  // [ham, spam]
 * TextEncoder enc = new TextEncoder(tokenizer, Datasets.builtin("spam").spec().textFields(), 128, Truncation.END);
 * List<Example.Classification> examples = enc.classification(shots, labels);
 * }</pre>
 */
package io.peft4j.core.data;
