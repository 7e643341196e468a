package io.peft4j.core.io;

import io.peft4j.core.PeftException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes that either happen whole or not at all: a temporary sibling file, fsync, then a rename. The result has the
 * permissions of the file it replaces, or, when new, those any new file gets (the umask's), not the owner-only ones
 * of a temporary file.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** What writes the temporary file's content. */
    @FunctionalInterface
    public interface Writer {
        void write(FileChannel channel) throws IOException;
    }

    public static void write(Path target, byte[] bytes) {
        write(target, ch -> {
            var buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
        });
    }

    public static void write(Path target, Writer writer) {
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            tmp = fresh(abs, ".tmp", false);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.write(ch);
                ch.force(true);
            }
            keepPermissions(abs, tmp);
            moveReplacing(tmp, abs);
            tmp = null;
        } catch (IOException e) {
            throw new PeftException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary file is not the target
                }
            }
        }
    }

    /**
     * A new empty file (or directory) beside {@code target} with a unique hidden name: created as any new file is, so
     * with the permissions the umask gives (a temporary file's would be owner-only).
     */
    private static Path fresh(Path target, String suffix, boolean directory) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + suffix);
            try {
                return directory ? Files.createDirectory(p) : Files.createFile(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            }
        }
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** Gives {@code written} the permissions of the {@code target} it replaces, if there is one (POSIX file systems only). */
    private static void keepPermissions(Path target, Path written) throws IOException {
        if (!Files.exists(target) || !written.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        Files.setPosixFilePermissions(written, Files.getPosixFilePermissions(target));
    }

    /**
     * Creates {@code dir} if needed and checks that files can be written in it, before a long job that writes there
     * at its end; one message names the directory and the fault.
     *
     * @return {@code dir}
     */
    public static Path requireWritableDirectory(Path dir, String what) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw PeftException.inFile(dir, what + " is a file, not a directory");
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write-test", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw PeftException.inFile(dir, what + " cannot be written (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        return dir;
    }

    /** Renames {@code from} onto {@code to} atomically where the file system allows it. */
    public static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** What fills a temporary directory. */
    @FunctionalInterface
    public interface DirectoryWriter {
        void write(Path dir) throws IOException;
    }

    /**
     * Builds a directory whole or not at all: {@code writer} fills a temporary sibling, which then replaces
     * {@code target} (an existing target is moved aside first and deleted after the swap). A failure leaves
     * the old target as it was and no temporary directory behind.
     */
    public static void writeDirectory(Path target, DirectoryWriter writer) {
        Path abs = target.toAbsolutePath();
        Path tmp = null, old = null;
        try {
            Files.createDirectories(abs.getParent());
            if (Files.exists(abs) && !Files.isDirectory(abs)) throw new PeftException(target + ": exists and is not a directory");
            tmp = fresh(abs, ".tmp", true);
            writer.write(tmp);
            keepPermissions(abs, tmp);
            if (Files.exists(abs)) {
                old = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".old");
                Files.delete(old);
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            if (old != null && !Files.exists(abs)) {
                try {
                    Files.move(old, abs, StandardCopyOption.ATOMIC_MOVE);
                    old = null;
                } catch (IOException ignored) {
                    // the old directory stays at its temporary name; report the original failure
                }
            }
            throw new PeftException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
            deleteTree(old);
        }
    }

    /**
     * Refuses an output directory that {@link #writeDirectory} would replace while it is, or holds, {@code input} (an
     * existing file or directory the command reads, called {@code what} in the message): replacing the output deletes
     * what was in it. Nothing is refused when either does not exist yet.
     */
    public static void requireOutside(Path target, String option, Path input, String what) {
        if (target == null || input == null || !Files.exists(target) || !Files.exists(input)) return;
        Path t = real(target), i = real(input);
        if (i.startsWith(t)) {
            throw new PeftException(option + " " + target + (i.equals(t) ? " is the " : " holds the ") + what + " " + input
                    + ": writing there would replace it; choose another directory");
        }
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** Deletes a directory tree (used to drop half-built temporary directories). */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // leave what could not be removed; it is a temporary directory
        }
    }
}
