package io.peft4j.prompt;

import io.peft4j.core.PeftException;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** How a command-line template or verbalizer argument is read: the prompt itself, or the {@code .json} file it names. */
public final class PromptArgument {
    private PromptArgument() {
    }

    /**
     * Whether {@code arg} names a {@code .json} file rather than being the template or label words themselves: it ends in
     * {@code .json} and has neither a slot ({@code {}) nor a label's {@code =}. A named file that does not exist is a
     * {@link PeftException} naming it, not a prompt whose text is the file's name.
     */
    public static boolean isFile(String arg) {
        if (!arg.endsWith(".json") || arg.contains("{") || arg.contains("=")) return false;
        Path p;
        try {
            p = Path.of(arg);
        } catch (InvalidPathException e) {
            return false;
        }
        if (!Files.isRegularFile(p)) throw PeftException.inFile(p, "no such file");
        return true;
    }
}
