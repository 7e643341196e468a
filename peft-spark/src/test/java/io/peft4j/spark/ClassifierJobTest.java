package io.peft4j.spark;

import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.spark.examples.ClassifierJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The example job of docs/spark.md end to end in local Spark, on bert-tiny with a WordPiece vocabulary, 4 steps. */
class ClassifierJobTest {
    @Test
    void theExampleJobTrainsSavesAndScores(@TempDir Path tmp) throws Exception {
        Path base = PeftFunctionsTest.tinyBert(tmp.resolve("base"));
        List<String> train = new ArrayList<>();
        for (String[] r : PeftFunctionsTest.TRAIN) train.add(r[0].replace(",", "") + "\t" + r[1]);
        Files.write(tmp.resolve("train.tsv"), train);
        Files.write(tmp.resolve("texts.txt"), PeftFunctionsTest.TEXTS);

        var r = ClassifierJob.run(TestSpark.session(), base, tmp.resolve("train.tsv").toString(), tmp.resolve("texts.txt").toString(),
                tmp.resolve("out"), 4, 2);
        assertThat(r.steps()).isEqualTo(4);
        assertThat(ClassifierDirectory.load(tmp.resolve("out/classifier"), null).classifier().labels()).containsExactly("negative", "positive");
        List<String> scored = new ArrayList<>();
        try (Stream<Path> parts = Files.list(tmp.resolve("out/scored"))) {
            for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) scored.addAll(Files.readAllLines(p));
        }
        assertThat(scored).hasSize(PeftFunctionsTest.TEXTS.size());
        assertThat(scored).allSatisfy(l -> assertThat(l).matches(".*\t(negative|positive)"));
        assertThat(Files.isDirectory(tmp.resolve("out/checkpoints/last"))).isTrue();
    }
}
