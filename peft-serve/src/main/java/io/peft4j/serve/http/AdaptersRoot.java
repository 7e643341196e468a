package io.peft4j.serve.http;

import io.peft4j.serve.AdapterRootCheck;
import io.peft4j.serve.ServeException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The one directory adapters may be loaded from over HTTP. A requested directory is taken relative to the root,
 * normalised, and resolved to its real path (every symbolic link followed); it is accepted only when that real path,
 * and the real path of every file under it, lies inside the root's real path. So {@code ../x}, an absolute path, and a
 * link (to the directory or to a file in it) that leads outside are all refused ({@link AdapterRootCheck}, the check the
 * registry's own {@code adapterRoot} uses too).
 *
 * <p>The check runs before the backend opens the files; whoever can write under the root can still swap a file for a
 * link afterwards, so the root must be writable only by those trusted to choose what the server loads.
 */
final class AdaptersRoot {
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
        try {
            return AdapterRootCheck.check(real, lexical, relative);
        } catch (ServeException e) {
            throw e.kind() == ServeException.Kind.FORBIDDEN ? ApiError.forbidden(e.getMessage()) : ApiError.invalidRequest(e.getMessage());
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
