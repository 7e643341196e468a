package io.peft4j.spark;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The warning {@link SparkTrainer#fit} logs when a step's micro-batches do not spread evenly over the partitions. */
class SparkTrainerPartitionsTest {
    @Test
    void fewerMicroBatchesThanPartitionsIsWarnedAboutNamingTheFix() {
        assertThat(SparkTrainer.partitionWarning(1, 4)).contains("1 micro-batch ").contains("4 partitions").contains("serial")
                .contains("multiple of 4");
        assertThat(SparkTrainer.partitionWarning(2, 4)).contains("only 2 of the partitions").contains("multiple of 4");
        assertThat(SparkTrainer.partitionWarning(6, 4)).contains("some partitions run 2 micro-batches, others 1").contains("multiple of 4");
    }

    @Test
    void aMultipleOfThePartitionsIsFine() {
        assertThat(SparkTrainer.partitionWarning(1, 1)).isNull();
        assertThat(SparkTrainer.partitionWarning(4, 4)).isNull();
        assertThat(SparkTrainer.partitionWarning(8, 2)).isNull();
    }
}
