package io.peft4j.core.data;

import java.util.Locale;

/** A data file's format. */
public enum Format {
    /** One JSON object per line (blank lines are skipped). */
    JSON_LINES,
    /** Comma-separated values with a header row (RFC 4180 quoting: fields may hold commas, quotes and newlines). */
    CSV,
    /** Tab-separated values with a header row, quoted as {@link #CSV}. */
    TSV;

    /**
     * The format a file name's extension says: {@code .csv} is {@link #CSV}, {@code .tsv} {@link #TSV}, anything
     * else ({@code .jsonl}, {@code .json}, none) {@link #JSON_LINES}.
     */
    public static Format of(String fileName) {
        String n = fileName.toLowerCase(Locale.ROOT);
        if (n.endsWith(".csv")) return CSV;
        if (n.endsWith(".tsv")) return TSV;
        return JSON_LINES;
    }
}
