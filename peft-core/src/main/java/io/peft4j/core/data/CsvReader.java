package io.peft4j.core.data;

import io.peft4j.core.PeftException;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads CSV or TSV with a header row (Apache Commons CSV, RFC 4180 quoting: a quoted field may hold the
 * delimiter, doubled quotes and line breaks). Blank lines are skipped; a row must have as many values as the
 * header has columns. Messages give the line a record starts on and its record number (the header is line 1,
 * not a record).
 */
final class CsvReader {
    private CsvReader() {
    }

    static List<TextRecord> read(Source src, DataSpec spec, char delimiter) {
        checkUtf8(src);
        CSVFormat format = CSVFormat.DEFAULT.builder().setDelimiter(delimiter).setHeader().setSkipHeaderRecord(true)
                .setIgnoreEmptyLines(false).setAllowMissingColumnNames(false).get();
        RecordMaker maker = new RecordMaker(spec, src.name());
        List<TextRecord> out = new ArrayList<>();
        try (Reader r = new BufferedReader(new InputStreamReader(src.open(), StandardCharsets.UTF_8))) {
            skipBom(r);
            CSVParser parser;
            try {
                parser = format.parse(r);
            } catch (IllegalArgumentException e) {
                throw PeftException.inFile(src.name(), "line 1: bad header row (" + e.getMessage() + ")");
            } catch (UncheckedIOException e) {
                throw maker.fault("line 1", "malformed CSV header (" + csvMessage(e.getCause()) + ")");
            }
            try (parser) {
                List<String> header = parser.getHeaderNames();
                if (header.isEmpty()) throw PeftException.inFile(src.name(), "no examples (empty file: a header row is needed)");
                Set<String> seen = new HashSet<>();
                for (String h : header) if (!seen.add(h)) throw maker.fault("line 1", "the header names column '" + h + "' twice");
                long previousEnd = parser.getCurrentLineNumber();
                long recordNumber = 0;
                Iterator<CSVRecord> it = parser.iterator();
                while (out.size() < spec.limit()) {
                    long start = previousEnd + 1;
                    CSVRecord rec;
                    try {
                        if (!it.hasNext()) break;
                        rec = it.next();
                    } catch (UncheckedIOException e) {
                        throw maker.fault("line " + start + " (record " + (recordNumber + 1) + ")", "malformed CSV (" + csvMessage(e.getCause()) + ")");
                    }
                    previousEnd = parser.getCurrentLineNumber();
                    if (rec.size() == 1 && rec.get(0).isEmpty()) continue;   // a blank line
                    recordNumber++;
                    String where = "line " + start + " (record " + recordNumber + ")";
                    if (rec.size() != header.size()) {
                        throw maker.fault(where, rec.size() + " values, but the header names " + header.size() + " columns");
                    }
                    Map<String, String> values = new LinkedHashMap<>();
                    for (int i = 0; i < header.size(); i++) values.put(header.get(i), rec.get(i));
                    out.add(maker.make(values, Map.of(), start, where));
                }
            }
        } catch (IOException e) {
            throw PeftException.inFile(src.name(), "cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) throw PeftException.inFile(src.name(), "no examples");
        return out;
    }

    /** A first pass that names the line and byte of any invalid UTF-8. */
    private static void checkUtf8(Source src) {
        try (Utf8Lines lines = new Utf8Lines(src.open(), src.name())) {
            while (lines.next() != null) {
                // decoding is the check
            }
        } catch (IOException e) {
            throw PeftException.inFile(src.name(), "cannot read: " + e.getMessage());
        }
    }

    private static void skipBom(Reader r) throws IOException {
        r.mark(1);
        if (r.read() != '\uFEFF') r.reset();
    }

    private static String csvMessage(Throwable e) {
        String m = e == null || e.getMessage() == null ? String.valueOf(e) : e.getMessage();
        return m.replaceFirst("^\\(startline \\d+\\)\\s*", "");
    }
}
