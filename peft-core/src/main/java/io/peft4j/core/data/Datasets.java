package io.peft4j.core.data;

import io.peft4j.core.PeftException;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads labelled text from a file (JSON lines, CSV, TSV) or a built-in dataset.
 *
 * <p>A built-in dataset is found by name on the class path, in the {@code peft-datasets} module
 * ({@link #builtinNames()}); a path to an existing file wins over a built-in name.
 *
 * <pre>{@code
 * List<TextRecord> train = Datasets.load("spam", Split.TRAIN);                       // built-in, its own spec
 * List<TextRecord> mine = Datasets.read(Path.of("reviews.csv"), DataSpec.defaults().withTextFields("review"));
 * }</pre>
 */
public final class Datasets {
    private static volatile BuiltinIndex index;

    private Datasets() {
    }

    /**
     * Reads a data file as {@code spec} says, in the format of {@link DataSpec#format()} or else of the file's
     * extension ({@link Format#of}).
     */
    public static List<TextRecord> read(Path file, DataSpec spec) {
        if (!Files.exists(file)) throw PeftException.inFile(file, "no such file");
        if (!Files.isRegularFile(file)) throw PeftException.inFile(file, "not a regular file");
        return read(new Source(file.toString(), () -> Files.newInputStream(file)), spec, spec.format() != null ? spec.format() : Format.of(file.toString()));
    }

    /**
     * The records of a data file, or of split {@code split} of a built-in dataset: {@code pathOrName} is a path
     * when such a (regular) file exists, else a built-in name ({@code split} chooses the split; it plays no part for a
     * file). An unknown name is a {@link PeftException} listing the built-in names.
     */
    public static List<TextRecord> load(String pathOrName, Split split, DataSpec spec) {
        Path path = asPath(pathOrName);
        if (path != null && Files.isRegularFile(path)) return read(path, spec);
        BuiltinIndex idx = index();
        Named named = named(pathOrName, split);
        if (idx.find(named.name()) != null) {
            return read(idx.source(named.name(), named.split()), spec, spec.format() != null ? spec.format() : Format.JSON_LINES);
        }
        if (path != null && Files.exists(path)) return read(path, spec);   // a directory: says so
        if (!idx.present()) throw PeftException.inFile(pathOrName, "no such file (" + BuiltinIndex.MISSING + " to read a built-in dataset)");
        throw PeftException.inFile(pathOrName, "no such file, nor a built-in dataset (" + String.join(", ", idx.names()) + ")");
    }

    /**
     * One JSON-lines record on its own, for input that arrives a line at a time ({@code peft predict} reading
     * standard input): {@code line} is line {@code lineNumber} of {@code source}, and faults name both.
     */
    public static TextRecord parseJsonLine(String line, DataSpec spec, String source, long lineNumber) {
        return JsonLinesReader.record(line, lineNumber, new RecordMaker(spec, source));
    }

    /** {@link #load(String, Split, DataSpec)} with {@link #defaultSpec} of {@code pathOrName}. */
    public static List<TextRecord> load(String pathOrName, Split split) {
        return load(pathOrName, split, defaultSpec(pathOrName));
    }

    /** A built-in dataset's own spec when {@code pathOrName} names one (and no such file exists), else {@link DataSpec#defaults()}. */
    public static DataSpec defaultSpec(String pathOrName) {
        BuiltinDataset d = isBuiltin(pathOrName) ? index().find(named(pathOrName, Split.TRAIN).name()) : null;
        return d != null ? d.spec() : DataSpec.defaults();
    }

    /** Whether {@code pathOrName} reads as a built-in dataset: no such file exists and a built-in dataset has that name. */
    public static boolean isBuiltin(String pathOrName) {
        Path path = asPath(pathOrName);
        return (path == null || !Files.isRegularFile(path)) && index().find(named(pathOrName, Split.TRAIN).name()) != null;
    }

    /** A built-in name and the split it asks for: {@code spam:dev} is spam's dev split; a bare name takes {@code dflt}. */
    private record Named(String name, Split split) {
    }

    private static Named named(String pathOrName, Split dflt) {
        for (Split s : Split.values()) {
            String suffix = ":" + s.name().toLowerCase(java.util.Locale.ROOT);
            if (pathOrName.endsWith(suffix)) return new Named(pathOrName.substring(0, pathOrName.length() - suffix.length()), s);
        }
        return new Named(pathOrName, dflt);
    }

    /** The built-in datasets' names, sorted; empty when the {@code peft-datasets} module is not on the class path. */
    public static List<String> builtinNames() {
        return index().names();
    }

    /** The built-in dataset called {@code name}; a {@link PeftException} listing the names when there is none. */
    public static BuiltinDataset builtin(String name) {
        return index().require(name);
    }

    private static List<TextRecord> read(Source src, DataSpec spec, Format format) {
        return switch (format) {
            case JSON_LINES -> JsonLinesReader.read(src, spec);
            case CSV -> CsvReader.read(src, spec, ',');
            case TSV -> CsvReader.read(src, spec, '\t');
        };
    }

    private static Path asPath(String pathOrName) {
        try {
            return Path.of(pathOrName);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static BuiltinIndex index() {
        BuiltinIndex i = index;
        if (i == null) {
            ClassLoader cl = Datasets.class.getClassLoader();
            i = BuiltinIndex.load(cl != null ? cl : ClassLoader.getSystemClassLoader());
            index = i;
        }
        return i;
    }
}
