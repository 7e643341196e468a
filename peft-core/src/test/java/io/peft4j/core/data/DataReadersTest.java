package io.peft4j.core.data;

import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The JSON-lines and CSV readers on hand-written files: fields, pairs, label maps, and every kind of bad input. */
class DataReadersTest {
    @TempDir
    Path tmp;

    Path file(String name, String content) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    Path bytes(String name, byte[]... parts) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.write(p);
        Path f = tmp.resolve(name);
        Files.write(f, b.toByteArray());
        return f;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Asserts one PeftException whose message is exactly {@code "<file>: <fault>"}. */
    static void fails(Runnable r, Path file, String fault) {
        assertThatThrownBy(r::run).isInstanceOf(PeftException.class).hasMessage(file + ": " + fault);
    }

    // ---------------------------------------------------------------- JSON lines

    @Test
    void jsonLinesKeepEveryScalarAsWrittenAndMapLabels() throws Exception {
        Path f = file("nli.jsonl", """
                {"id": 7, "premise": "A man sleeps.", "hypothesis": "Nobody sleeps.", "label": 2, "score": 1.50, "ok": true, "meta": {"x": 1}, "tags": [1, 2], "none": null}

                {"id": 8, "premise": "Ein Mann, \\"schläft\\".", "hypothesis": "x\\ny", "label": 0}
                """);
        DataSpec spec = DataSpec.defaults().withTextFields("premise", "hypothesis")
                .withLabelMap(Map.of("0", "entailment", "1", "neutral", "2", "contradiction"));
        List<TextRecord> rs = Datasets.read(f, spec);
        assertThat(rs).hasSize(2);
        TextRecord a = rs.get(0), b = rs.get(1);
        assertThat(a.fields()).containsExactly(Map.entry("id", "7"), Map.entry("premise", "A man sleeps."), Map.entry("hypothesis", "Nobody sleeps."),
                Map.entry("label", "2"), Map.entry("score", "1.50"), Map.entry("ok", "true"));
        assertThat(a.label()).isEqualTo("contradiction");
        assertThat(a.line()).isEqualTo(1);
        assertThat(a.source()).isEqualTo(f.toString());
        assertThat(b.line()).isEqualTo(3);   // the blank line 2 is skipped but counted
        assertThat(b.label()).isEqualTo("entailment");
        assertThat(b.field("premise")).isEqualTo("Ein Mann, \"schläft\".");
        assertThat(b.field("hypothesis")).isEqualTo("x\ny");
        assertThatThrownBy(() -> a.fields().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> b.field("nope")).isInstanceOf(PeftException.class)
                .hasMessage(f + ": line 3: no field 'nope' (the record has: id, premise, hypothesis, label)");
    }

    @Test
    void unlabelledDataHasNoLabelsAndLinesParseOneAtATime() throws Exception {
        Path p = file("in.jsonl", "{\"text\": \"hi\"}\n{\"text\": \"there\", \"label\": \"x\"}\n");
        List<TextRecord> r = Datasets.read(p, DataSpec.defaults().withoutLabels());
        assertThat(r).extracting(TextRecord::label).containsExactly(null, null);
        assertThat(r.get(1).field("text")).isEqualTo("there");
        fails(() -> Labels.of(r), p, "line 1: no label (the data was read without labels)");
        TextRecord one = Datasets.parseJsonLine("{\"text\": \"a\", \"label\": 1}", DataSpec.defaults(), "<stdin>", 7);
        assertThat(one.label()).isEqualTo("1");
        assertThat(one.line()).isEqualTo(7);
        assertThatThrownBy(() -> Datasets.parseJsonLine("{\"txt\": \"a\"}", DataSpec.defaults().withoutLabels(), "<stdin>", 3))
                .isInstanceOf(PeftException.class).hasMessage("<stdin>: line 3: no field 'text' (the line has: txt)");
    }

    @Test
    void jsonLinesReadCrLfAByteOrderMarkAndALimit() throws Exception {
        Path f = bytes("crlf.json", new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                utf8("{\"text\": \"one\", \"label\": \"a\"}\r\n{\"text\": \"two\", \"label\": \"b\"}\r\n{\"text\": \"three\", \"label\": \"a\"}\r\n"));
        List<TextRecord> all = Datasets.read(f, DataSpec.defaults());
        assertThat(all).extracting(r -> r.field("text")).containsExactly("one", "two", "three");
        assertThat(all).extracting(TextRecord::label).containsExactly("a", "b", "a");
        assertThat(Datasets.read(f, DataSpec.defaults().withLimit(2))).extracting(TextRecord::line).containsExactly(1L, 2L);
        // an unknown extension reads as JSON lines; a forced format overrides the extension
        Path csvAsTxt = file("data.txt", "text,label\nhi,a\n");
        assertThat(Datasets.read(csvAsTxt, DataSpec.defaults().withFormat(Format.CSV)).get(0).field("text")).isEqualTo("hi");
        assertThatThrownBy(() -> Datasets.read(csvAsTxt, DataSpec.defaults())).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(csvAsTxt + ": line 1: not JSON (Unrecognized token 'text'");
    }

    @Test
    void jsonLinesBadInputNamesFileAndLine() throws Exception {
        String ok = "{\"text\": \"fine\", \"label\": \"a\"}\n";
        Path empty = file("empty.jsonl", "");
        fails(() -> Datasets.read(empty, DataSpec.defaults()), empty, "no examples");
        Path blank = file("blank.jsonl", "\n  \n\n");
        fails(() -> Datasets.read(blank, DataSpec.defaults()), blank, "no examples");
        Path missing = tmp.resolve("missing.jsonl");
        fails(() -> Datasets.read(missing, DataSpec.defaults()), missing, "no such file");
        fails(() -> Datasets.read(tmp, DataSpec.defaults()), tmp, "not a regular file");

        Path broken = file("broken.jsonl", ok + "{not json\n");
        assertThatThrownBy(() -> Datasets.read(broken, DataSpec.defaults())).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(broken + ": line 2: not JSON (").hasMessageNotContaining("start marker");
        Path trailing = file("trailing.jsonl", ok + ok + "{\"text\": \"x\", \"label\": \"a\"} {\"text\": \"y\"}\n");
        fails(() -> Datasets.read(trailing, DataSpec.defaults()), trailing, "line 3: not JSON (more after the object's closing brace)");
        Path array = file("array.jsonl", "[{\"text\": \"x\", \"label\": \"a\"}]\n");
        fails(() -> Datasets.read(array, DataSpec.defaults()), array, "line 1: not a JSON object (an array); the file must hold one JSON object per line, not an array");
        Path scalar = file("scalar.jsonl", ok + "\"just a string\"\n");
        fails(() -> Datasets.read(scalar, DataSpec.defaults()), scalar, "line 2: not a JSON object (a string)");
        Path dup = file("dup.jsonl", "{\"text\": \"x\", \"text\": \"y\", \"label\": \"a\"}\n");
        fails(() -> Datasets.read(dup, DataSpec.defaults()), dup, "line 1: not JSON (Duplicate field 'text')");

        Path noText = file("notext.jsonl", ok + ok + "{\"body\": \"x\", \"label\": \"a\"}\n");
        fails(() -> Datasets.read(noText, DataSpec.defaults()), noText, "line 3: no field 'text' (the line has: body, label)");
        Path numberText = file("numtext.jsonl", "{\"text\": 12, \"label\": \"a\"}\n");
        fails(() -> Datasets.read(numberText, DataSpec.defaults()), numberText, "line 1: text field 'text' is a number, not a string");
        Path nullText = file("nulltext.jsonl", ok + "{\"text\": null, \"label\": \"a\"}\n");
        fails(() -> Datasets.read(nullText, DataSpec.defaults()), nullText, "line 2: text field 'text' is null, not a string");
        Path arrayB = file("pair.jsonl", "{\"a\": \"x\", \"b\": [\"y\"], \"label\": \"a\"}\n");
        fails(() -> Datasets.read(arrayB, DataSpec.defaults().withTextFields("a", "b")), arrayB, "line 1: text field 'b' is an array, not a string");

        Path noLabel = file("nolabel.jsonl", ok + "{\"text\": \"x\"}\n");
        fails(() -> Datasets.read(noLabel, DataSpec.defaults()), noLabel, "line 2: no field 'label' (the line has: text)");
        Path objLabel = file("objlabel.jsonl", "{\"text\": \"x\", \"label\": {\"y\": 1}}\n");
        fails(() -> Datasets.read(objLabel, DataSpec.defaults()), objLabel, "line 1: label field 'label' is an object, not a string, number or boolean");
        Path nullLabel = file("nulllabel.jsonl", "{\"text\": \"x\", \"label\": null}\n");
        fails(() -> Datasets.read(nullLabel, DataSpec.defaults()), nullLabel, "line 1: label field 'label' is null, not a string, number or boolean");
        Path emptyLabel = file("emptylabel.jsonl", "{\"text\": \"x\", \"label\": \"\"}\n");
        fails(() -> Datasets.read(emptyLabel, DataSpec.defaults()), emptyLabel, "line 1: label field 'label' is empty");
        Path unmapped = file("unmapped.jsonl", "{\"text\": \"x\", \"label\": 0}\n{\"text\": \"y\", \"label\": 1}\n\n{\"text\": \"z\", \"label\": 2}\n");
        fails(() -> Datasets.read(unmapped, DataSpec.defaults().withLabelMap(Map.of("1", "pos", "0", "neg"))), unmapped,
                "line 4: label '2' is not in the label map (it maps 0, 1)");
    }

    @Test
    void invalidUtf8NamesLineAndByteOffset() throws Exception {
        byte[] line1 = utf8("{\"text\": \"caf\u00e9\", \"label\": \"a\"}\n");   // 32 bytes: é is two
        assertThat(line1).hasSize(32);
        // line 2: {"text": "ab<FF>", ...}: the 0xFF follows the line's first 12 bytes: file offset 32 + 12 = 44
        Path f = bytes("latin.jsonl", line1, utf8("{\"text\": \"ab"), new byte[]{(byte) 0xFF}, utf8("\", \"label\": \"a\"}\n"));
        fails(() -> Datasets.read(f, DataSpec.defaults()), f, "line 2: invalid UTF-8 at byte offset 44 (the file must be UTF-8)");
        // a Latin-1 'é' (0xE9) followed by '"' is a truncated sequence: offset of the 0xE9
        Path g = bytes("latin1.csv", utf8("text,label\ncaf"), new byte[]{(byte) 0xE9}, utf8(",a\n"));
        fails(() -> Datasets.read(g, DataSpec.defaults()), g, "line 2: invalid UTF-8 at byte offset 14 (the file must be UTF-8)");
    }

    // ---------------------------------------------------------------- CSV and TSV

    @Test
    void csvQuotedCommasNewlinesAndQuotesWithLineAndRecordNumbers() throws Exception {
        Path f = file("data.csv", """
                text,label,id
                "hello, world",pos,1
                "two
                lines \"\"quoted\"\"\",neg,2

                plain,pos,3
                """);
        List<TextRecord> rs = Datasets.read(f, DataSpec.defaults());
        assertThat(rs).extracting(r -> r.field("text")).containsExactly("hello, world", "two\nlines \"quoted\"", "plain");
        assertThat(rs).extracting(TextRecord::label).containsExactly("pos", "neg", "pos");
        assertThat(rs).extracting(TextRecord::line).containsExactly(2L, 3L, 6L);
        assertThat(rs.get(1).fields()).containsExactly(Map.entry("text", "two\nlines \"quoted\""), Map.entry("label", "neg"), Map.entry("id", "2"));
        assertThat(Datasets.read(f, DataSpec.defaults().withLimit(1))).hasSize(1);
    }

    @Test
    void tsvPairsWithALabelMapAndCrLf() throws Exception {
        Path f = file("pairs.tsv", "question\tsentence\tlabel\r\nWhere?\t\"Here, \tthere\"\t1\r\nWhy?\tBecause.\t0\r\n");
        DataSpec spec = DataSpec.defaults().withTextFields("question", "sentence").withLabelMap(Map.of("0", "no", "1", "yes"));
        List<TextRecord> rs = Datasets.read(f, spec);
        assertThat(rs).hasSize(2);
        assertThat(rs.get(0).field("sentence")).isEqualTo("Here, \tthere");
        assertThat(rs).extracting(TextRecord::label).containsExactly("yes", "no");
        assertThat(rs).extracting(TextRecord::line).containsExactly(2L, 3L);
    }

    @Test
    void csvBadInputNamesFileLineAndRecord() throws Exception {
        Path empty = file("empty.csv", "");
        fails(() -> Datasets.read(empty, DataSpec.defaults()), empty, "no examples (empty file: a header row is needed)");
        Path headerOnly = file("header.csv", "text,label\n");
        fails(() -> Datasets.read(headerOnly, DataSpec.defaults()), headerOnly, "no examples");
        Path unterminated = file("open.csv", "text,label\nok,a\n\n\"never closed,b\nmore,c\n");
        fails(() -> Datasets.read(unterminated, DataSpec.defaults()), unterminated,
                "line 4 (record 2): malformed CSV (EOF reached before encapsulated token finished)");
        Path junk = file("junk.csv", "text,label\nok,a\n\"q\"junk,b\n");
        assertThatThrownBy(() -> Datasets.read(junk, DataSpec.defaults())).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(junk + ": line 3 (record 2): malformed CSV (Invalid character between encapsulated token and delimiter");
        Path tooMany = file("many.csv", "text,label\nok,a\nan, unquoted comma,b\n");
        fails(() -> Datasets.read(tooMany, DataSpec.defaults()), tooMany, "line 3 (record 2): 3 values, but the header names 2 columns");
        Path tooFew = file("few.csv", "text,label\n\"multi\nline\",a\nalone\n");
        fails(() -> Datasets.read(tooFew, DataSpec.defaults()), tooFew, "line 4 (record 2): 1 values, but the header names 2 columns");
        Path noText = file("notext.csv", "body,label\nhi,a\n");
        fails(() -> Datasets.read(noText, DataSpec.defaults()), noText, "line 2 (record 1): no field 'text' (the line has: body, label)");
        Path emptyLabel = file("emptylabel.csv", "text,label\nhi,a\nho,\n");
        fails(() -> Datasets.read(emptyLabel, DataSpec.defaults()), emptyLabel, "line 3 (record 2): label field 'label' is empty");
        Path unmapped = file("unmapped.csv", "text,label\nhi,0\nho,7\n");
        fails(() -> Datasets.read(unmapped, DataSpec.defaults().withLabelMap(Map.of("0", "neg", "1", "pos"))), unmapped,
                "line 3 (record 2): label '7' is not in the label map (it maps 0, 1)");
        Path dupHeader = file("dup.csv", "text,label,text\nhi,a,ho\n");
        fails(() -> Datasets.read(dupHeader, DataSpec.defaults()), dupHeader, "line 1: the header names column 'text' twice");
        Path emptyName = file("noname.csv", "text,,label\nhi,x,a\n");
        assertThatThrownBy(() -> Datasets.read(emptyName, DataSpec.defaults())).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(emptyName + ": line 1: bad header row (");
    }

    @Test
    void specRejectsBadFieldSets() {
        assertThatThrownBy(() -> DataSpec.defaults().withTextFields()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DataSpec.defaults().withTextFields("a", "b", "c")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DataSpec.defaults().withTextFields("a", "a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DataSpec.defaults().withLimit(0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(DataSpec.defaults().withTextFields("a", "b").pairs()).isTrue();
        assertThat(DataSpec.defaults().textFields()).containsExactly("text");
        assertThat(DataSpec.defaults().labelField()).isEqualTo("label");
    }
}
