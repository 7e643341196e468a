package io.peft4j.core.data;

import io.peft4j.core.PeftException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lines of a UTF-8 stream, decoded strictly: an invalid byte sequence is a {@link PeftException} naming
 * the source, the line and the byte offset. Lines end at {@code \n} ({@code \r\n} too); a leading byte-order
 * mark is skipped. Public for the other data readers ({@code peft-sft}'s instruction files).
 *
 * <pre>{@code
 * try (Utf8Lines lines = new Utf8Lines(Files.newInputStream(file), file.toString())) {
 *     for (String line; (line = lines.next()) != null; ) System.out.println(lines.lineNumber() + ": " + line);
 * }
 * }</pre>
 */
public final class Utf8Lines implements AutoCloseable {
    private final InputStream in;
    private final String source;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] buf = new byte[1 << 16];
    private int pos, end;
    private byte[] line = new byte[256];
    private long lineNumber, offset;
    private boolean eof, first = true;

    /** Reads {@code in}; errors name {@code source} (a file name). */
    public Utf8Lines(InputStream in, String source) {
        this.in = in;
        this.source = source;
    }

    /** The 1-based number of the line {@link #next} returned last. */
    public long lineNumber() {
        return lineNumber;
    }

    /** The next line without its line break, or null at the end. */
    public String next() throws IOException {
        if (eof) return null;
        long start = offset;
        int n = 0;
        boolean any = false;
        while (true) {
            if (pos == end) {
                end = in.read(buf, 0, buf.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    eof = true;
                    if (!any) return null;
                    break;
                }
            }
            any = true;
            byte b = buf[pos++];
            offset++;
            if (b == '\n') break;
            if (n == line.length) line = Arrays.copyOf(line, n * 2);
            line[n++] = b;
        }
        lineNumber++;
        int from = 0;
        if (first) {
            first = false;
            if (n >= 3 && (line[0] & 0xff) == 0xEF && (line[1] & 0xff) == 0xBB && (line[2] & 0xff) == 0xBF) from = 3;
        }
        if (n > from && line[n - 1] == '\r') n--;
        ByteBuffer bytes = ByteBuffer.wrap(line, from, n - from);
        CharBuffer chars = CharBuffer.allocate(n - from);
        decoder.reset();
        CoderResult r = decoder.decode(bytes, chars, true);
        if (!r.isError()) r = decoder.flush(chars);
        if (r.isError()) {
            throw PeftException.inFile(source, "line " + lineNumber + ": invalid UTF-8 at byte offset " + (start + bytes.position())
                    + " (the file must be UTF-8)");
        }
        return chars.flip().toString();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
