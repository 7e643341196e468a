package io.peft4j.serve.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * The one directory adapters may be loaded from over HTTP. A requested directory is taken relative to the root,
 * normalised, and resolved to its real path (every symbolic link followed); it is accepted only when that real path,
 * and the real path of every file under it, lies inside the root's real path. So {@code ../x}, an absolute path, and a
 * link (to the directory or to a file in it) that leads outside are all refused.
 *
 * <p>The check runs before the backend opens the files; whoever can write under the root can still swap a file for a
 * link afterwards, so the root must be writable only by those trusted to choose what the server loads.
 */
final class AdaptersRoot {
    /** The most entries checked under one adapter directory (an adapter holds a handful of files). */
    static final int MAX_ENTRIES = 10_000;
    private static final int MAX_DEPTH = 8;

    private final Path real;

    private AdaptersRoot(Path real) {
        this.real = real;
    }

    /** The root {@code dir}, which must be an existing directory. */
    static AdaptersRoot of(Path dir) {
        try {
            Path r = dir.toRealPath();
            if (!Files.isDirectory(r)) throw new IllegalArgumentException("the adapters root is not a directory: " + dir);
            return new AdaptersRoot(r);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("the adapters root does not exist: " + dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the adapters root " + dir + ": " + e.getMessage());
        }
    }

    Path real() {
        return real;
    }

    /**
     * The real path of directory {@code relative} under the root.
     *
     * @throws ApiError 403 when it (or anything under it) lies outside the root, 400 when it is not a directory
     */
    Path resolve(String relative) {
        if (relative.isEmpty()) throw ApiError.invalidRequest("'dir' is empty");
        Path p;
        try {
            p = Path.of(relative);
        } catch (InvalidPathException e) {
            throw ApiError.invalidRequest("'dir' is not a valid path");
        }
        if (p.isAbsolute() || p.getRoot() != null) throw ApiError.forbidden("'dir' must be relative to the adapters root, not absolute");
        Path lexical = real.resolve(p).normalize();
        if (!lexical.startsWith(real) || lexical.equals(real)) throw ApiError.forbidden("'dir' must name a directory inside the adapters root");
        Path resolved;
        try {
            resolved = lexical.toRealPath();
        } catch (NoSuchFileException e) {
            throw ApiError.invalidRequest("no such directory under the adapters root: " + relative);
        } catch (IOException e) {
            throw ApiError.invalidRequest("cannot read directory " + relative + " under the adapters root");
        }
        if (!inside(resolved)) throw ApiError.forbidden("'dir' leads outside the adapters root (through a symbolic link)");
        if (!Files.isDirectory(resolved)) throw ApiError.invalidRequest("not a directory: " + relative);
        checkEntries(resolved, relative);
        return resolved;
    }

    private boolean inside(Path realPath) {
        return realPath.startsWith(real) && !realPath.equals(real);
    }

    /** Every entry under {@code dir}, followed through links, must stay inside the root. */
    private void checkEntries(Path dir, String relative) {
        try (Stream<Path> s = Files.walk(dir, MAX_DEPTH, FileVisitOption.FOLLOW_LINKS)) {
            int n = 0;
            for (Iterator<Path> it = s.iterator(); it.hasNext(); ) {
                Path e = it.next();
                if (++n > MAX_ENTRIES) throw ApiError.invalidRequest(relative + " holds more than " + MAX_ENTRIES + " files");
                Path r;
                try {
                    r = e.toRealPath();
                } catch (NoSuchFileException dangling) {
                    continue; // a dangling link opens nothing
                }
                if (!r.startsWith(real)) {
                    throw ApiError.forbidden(real.relativize(e.toAbsolutePath()) + " leads outside the adapters root (through a symbolic link)");
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw ApiError.invalidRequest("cannot read directory " + relative + " under the adapters root");
        }
    }

    /** {@code p} relative to the root when it lies inside it, else null (server paths are not shown to clients). */
    String display(Path p) {
        if (p == null) return null;
        Path a = p.toAbsolutePath().normalize();
        if (a.startsWith(real)) return real.relativize(a).toString();
        try {
            Path r = p.toRealPath();
            return r.startsWith(real) ? real.relativize(r).toString() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** {@code message} with the root's real path left out (a backend names files by their full path). */
    String redact(String message) {
        if (message == null) return null;
        return message.replace(real + java.io.File.separator, "").replace(real.toString(), "<adapters root>");
    }
}
