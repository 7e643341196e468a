package io.peft4j.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * Whether an adapter directory stays inside a root directory: the one check that {@link AdapterRegistry.Options#adapterRoot()}
 * and the HTTP server's adapters root ({@code --adapters-root}) share. The directory is resolved to its real path (every
 * symbolic link followed), and so is every entry under it: the directory and each entry must lie inside the root's real
 * path. So a link to the directory, or to a file in it, that leads outside is refused.
 *
 * <p>Messages name paths relative to the root (never the root itself): a server may show them to its clients.
 */
public final class AdapterRootCheck {
    /** The most entries checked under one adapter directory (an adapter holds a handful of files). */
    public static final int MAX_ENTRIES = 10_000;
    private static final int MAX_DEPTH = 8;

    private AdapterRootCheck() {
    }

    /**
     * Checks the directory {@code dir} against the root whose real path is {@code realRoot}; returns the directory's real
     * path.
     *
     * @param shown how messages name {@code dir}
     * @throws ServeException {@code FORBIDDEN} when the directory, or an entry under it, leads outside the root;
     *                        {@code BAD_INPUT} when it does not exist, is not a directory, cannot be read or holds more
     *                        than {@link #MAX_ENTRIES} entries
     */
    public static Path check(Path realRoot, Path dir, String shown) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (NoSuchFileException e) {
            throw new ServeException(ServeException.Kind.BAD_INPUT, "no such directory under the adapters root: " + shown);
        } catch (IOException e) {
            throw new ServeException(ServeException.Kind.BAD_INPUT, "cannot read directory " + shown + " under the adapters root");
        }
        if (!real.startsWith(realRoot) || real.equals(realRoot)) {
            throw new ServeException(ServeException.Kind.FORBIDDEN, shown + " leads outside the adapters root (through a symbolic link)");
        }
        if (!Files.isDirectory(real)) throw new ServeException(ServeException.Kind.BAD_INPUT, "not a directory: " + shown);
        try (Stream<Path> s = Files.walk(real, MAX_DEPTH, FileVisitOption.FOLLOW_LINKS)) {
            int n = 0;
            for (Iterator<Path> it = s.iterator(); it.hasNext(); ) {
                Path e = it.next();
                if (++n > MAX_ENTRIES) throw new ServeException(ServeException.Kind.BAD_INPUT, shown + " holds more than " + MAX_ENTRIES + " files");
                Path r;
                try {
                    r = e.toRealPath();
                } catch (NoSuchFileException dangling) {
                    continue; // a dangling link opens nothing
                }
                if (!r.startsWith(realRoot)) {
                    throw new ServeException(ServeException.Kind.FORBIDDEN, realRoot.relativize(e.toAbsolutePath())
                            + " leads outside the adapters root (through a symbolic link)");
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw new ServeException(ServeException.Kind.BAD_INPUT, "cannot read directory " + shown + " under the adapters root");
        }
        return real;
    }
}
