package io.peft4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.peft4j.core.PeftException;
import picocli.CommandLine.Option;

import java.util.Arrays;

/** Options and helpers every command shares. */
final class Common {
    static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT);

    private Common() {
    }

    /** {@code -v}: log progress to stderr. */
    static final class Verbosity {
        @Option(names = {"-v", "--verbose"}, description = "Log progress to stderr.")
        boolean verbose;
    }

    /** Parses "1,2,3" into ints, naming the option on error. */
    static int[] ints(String option, String csv) {
        if (csv == null) return null;
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new PeftException(option + ": expected comma-separated integers, got '" + csv + "'");
        }
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
