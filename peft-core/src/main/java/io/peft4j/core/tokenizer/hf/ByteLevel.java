package io.peft4j.core.tokenizer.hf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** GPT-2's reversible map between the 256 byte values and printable characters ({@code bytes_to_unicode}). */
final class ByteLevel {
    private ByteLevel() {
    }

    static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character (all below 0x144); -1 where a character stands for no byte. */
    private static final int[] CHAR_TO_BYTE = new int[0x200];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    /** The byte symbols of {@code text}'s UTF-8 encoding. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        return new String(out);
    }

    /** The byte a symbol stands for, or -1. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * Hugging Face's ByteLevel decoder: each token's symbols become bytes (a token with any other character
     * contributes its own UTF-8 bytes, as added tokens do), and the bytes are decoded as UTF-8, invalid sequences
     * replaced by U+FFFD.
     */
    static String decode(Iterable<String> tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String t : tokens) {
            boolean all = true;
            for (int i = 0; i < t.length() && all; i++) all = byteOf(t.charAt(i)) >= 0;
            if (all) for (int i = 0; i < t.length(); i++) bytes.write(byteOf(t.charAt(i)));
            else bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8);   // invalid sequences become U+FFFD, maximal subparts as Rust's from_utf8_lossy
    }
}
