package io.peft4j.core.io;

import io.peft4j.core.PeftException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads the text files peft4j loads (JSON configs and vocabularies, {@code vocab.txt}, {@code merges.txt}) as
 * strict UTF-8 with a size bound, so a file that is not text, or is larger than any such file, is refused by
 * name instead of being half-decoded or filling the heap.
 */
public final class TextFiles {
    /** No text file peft4j reads comes near this (a 150k-token {@code tokenizer.json} is about 10 MB). */
    public static final long MAX_BYTES = 512L * 1024 * 1024;

    private TextFiles() {
    }

    /** The whole file as a string; a missing, oversized or non-UTF-8 file is a {@link PeftException} naming it. */
    public static String read(Path file) {
        return decode(file, bytes(file));
    }

    /**
     * The whole file's bytes, checked to be strict UTF-8 as {@link #read} checks them, for parsers that read bytes
     * (a multi-megabyte {@code tokenizer.json} streamed by Jackson without first becoming a string).
     */
    public static byte[] readUtf8(Path file) {
        byte[] bytes = bytes(file);
        CharsetDecoder dec = strict();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(64 * 1024);
        while (true) {
            CoderResult r = dec.decode(in, out, true);
            if (r.isError()) throw invalid(file, bytes, in.position());
            out.clear();
            if (r.isUnderflow()) break;
        }
        return bytes;
    }

    private static byte[] bytes(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) throw PeftException.inFile(file, size + " bytes is larger than any text file peft4j reads (" + MAX_BYTES + ")");
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw PeftException.inFile(file, "file not found");
        } catch (IOException e) {
            throw PeftException.inFile(file, "cannot read: " + e.getMessage());
        }
    }

    private static CharsetDecoder strict() {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    private static PeftException invalid(Object source, byte[] bytes, int at) {
        int line = 1;
        for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
        return PeftException.inFile(source, String.format("not valid UTF-8: byte 0x%02x at offset %d (line %d)", bytes[at] & 0xff, at, line));
    }

    /** The file's lines (without line terminators), read as {@link #read} does. */
    public static List<String> lines(Path file) {
        return read(file).lines().toList();
    }

    /** Decodes strict UTF-8; the error gives the byte offset and line of the first invalid sequence. */
    static String decode(Object source, byte[] bytes) {
        CharsetDecoder dec = strict();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);   // UTF-8 never decodes to more chars than bytes
        CoderResult r = dec.decode(in, out, true);
        if (r.isError()) throw invalid(source, bytes, in.position());
        dec.flush(out);
        return out.flip().toString();
    }
}
