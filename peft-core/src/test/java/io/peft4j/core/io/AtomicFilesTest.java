package io.peft4j.core.io;

import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Whole-or-nothing writes: content, no temporary files left, permissions of an ordinary file, and the writable-directory check. */
class AtomicFilesTest {
    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    @Test
    void aNewFileGetsItsContentAndAnOrdinaryFilesPermissions(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("sub/results.md");
        AtomicFiles.write(f, "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(f)).isEqualTo("hello");
        try (var s = Files.list(f.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("results.md");     // no temporary file left
        }
        assumeTrue(posix(tmp));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-r--r--");
    }

    @Test
    void aReplacedFileKeepsItsPermissions(@TempDir Path tmp) throws Exception {
        assumeTrue(posix(tmp));
        Path f = Files.writeString(tmp.resolve("shared.json"), "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw----"));
        AtomicFiles.write(f, "new".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(f)).isEqualTo("new");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-rw----");
    }

    @Test
    void aNewDirectoryGetsAnOrdinaryDirectorysPermissions(@TempDir Path tmp) throws Exception {
        Path d = tmp.resolve("adapter");
        AtomicFiles.writeDirectory(d, dir -> Files.writeString(dir.resolve("a.txt"), "a"));
        assertThat(Files.readString(d.resolve("a.txt"))).isEqualTo("a");
        assumeTrue(posix(tmp));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).isEqualTo("rwxr-xr-x");
    }

    @Test
    void aWritableDirectoryIsCreatedAndAFileOrAPathUnderAFileRefused(@TempDir Path tmp) throws Exception {
        Path d = AtomicFiles.requireWritableDirectory(tmp.resolve("out/deeper"), "--output");
        assertThat(d).isDirectory();
        try (var s = Files.list(d)) {
            assertThat(s).isEmpty();                                                              // the probe file is gone
        }
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> AtomicFiles.requireWritableDirectory(file, "--output")).isInstanceOf(PeftException.class)
                .hasMessage(file + ": --output is a file, not a directory");
        assertThatThrownBy(() -> AtomicFiles.requireWritableDirectory(file.resolve("sub"), "--output")).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(file.resolve("sub") + ": --output cannot be written (");
    }
}
