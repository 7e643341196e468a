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

/** Whole-or-nothing writes: content, no temporary files left, the permissions of any new file (not a temporary file's), and the writable-directory check. */
class AtomicFilesTest {
    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    @Test
    void aNewFileGetsItsContentAndTheUmasksPermissions(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("sub/results.md");
        AtomicFiles.write(f, "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(f)).isEqualTo("hello");
        try (var s = Files.list(f.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("results.md");     // no temporary file left
        }
        assumeTrue(posix(tmp));
        Path plain = Files.createFile(tmp.resolve("plain"));                 // what the umask gives a new file
        assertThat(Files.getPosixFilePermissions(f)).isEqualTo(Files.getPosixFilePermissions(plain));
    }

    @Test
    void aReplacedFileKeepsItsPermissionsEvenReadOnlyOnes(@TempDir Path tmp) throws Exception {
        assumeTrue(posix(tmp));
        for (String mode : new String[]{"rw-rw----", "r--r--r--"}) {
            Path f = Files.writeString(tmp.resolve("shared-" + mode.replace('-', '_') + ".json"), "old");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
            AtomicFiles.write(f, "new".getBytes(StandardCharsets.UTF_8));
            assertThat(Files.readString(f)).isEqualTo("new");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo(mode);
        }
        Path d = tmp.resolve("adapter");
        AtomicFiles.writeDirectory(d, dir -> Files.writeString(dir.resolve("a.txt"), "a"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("r-xr-xr-x"));
        AtomicFiles.writeDirectory(d, dir -> Files.writeString(dir.resolve("b.txt"), "b"));
        assertThat(Files.readString(d.resolve("b.txt"))).isEqualTo("b");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).isEqualTo("r-xr-xr-x");
    }

    @Test
    void aNewDirectoryGetsTheUmasksPermissions(@TempDir Path tmp) throws Exception {
        Path d = tmp.resolve("adapter");
        AtomicFiles.writeDirectory(d, dir -> Files.writeString(dir.resolve("a.txt"), "a"));
        assertThat(Files.readString(d.resolve("a.txt"))).isEqualTo("a");
        assumeTrue(posix(tmp));
        Path plain = Files.createDirectory(tmp.resolve("plain"));
        assertThat(Files.getPosixFilePermissions(d)).isEqualTo(Files.getPosixFilePermissions(plain));
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
