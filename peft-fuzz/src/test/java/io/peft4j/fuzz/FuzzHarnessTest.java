package io.peft4j.fuzz;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The harness itself: each way a case can end is recorded as that case's outcome, and the next case still runs. */
class FuzzHarnessTest {
    @TempDir
    Path work;

    @Test
    void outcomesCrashesHangsAndOutOfMemoryAreBlamedOnTheirCase() throws Exception {
        FuzzHarness.Settings d = FuzzHarness.Settings.defaults();
        FuzzHarness.Settings s = new FuzzHarness.Settings(1, 3_000, 20_000, d.addressSpaceMb(), d.jvmOptions(), false);
        List<String> ids = List.of("selftest:oom", "selftest:ok", "selftest:hang", "selftest:crash", "selftest:npe", "selftest:unnamed",
                "selftest:peft", "selftest:ok");
        List<FuzzHarness.Result> r = new FuzzHarness(work, work, s).run(ids);
        assertThat(r).extracting(FuzzHarness.Result::id).containsExactlyElementsOf(ids);
        assertThat(r).extracting(FuzzHarness.Result::verdict).containsExactly("FAIL", "OK", "FAIL", "FAIL", "FAIL", "FAIL", "REJECTED", "OK");
        assertThat(r).extracting(FuzzHarness.Result::category).containsExactly("OutOfMemoryError", "", "hang", "JVM crash",
                "NullPointerException", "PeftException not naming file.txt", "", "");
        assertThat(r.get(3).detail()).contains("SIGSEGV");
        assertThat(r.get(6).detail()).isEqualTo("file.txt: bad");
    }
}
