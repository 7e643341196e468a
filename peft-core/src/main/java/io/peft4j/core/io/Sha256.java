package io.peft4j.core.io;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 fingerprints, the one place the project makes them: of settings, datasets and models, to tell a saved
 * result (a journal entry, a demo row, cached features) made from the same inputs from one made from others.
 */
public final class Sha256 {
    private Sha256() {
    }

    /** A new SHA-256 digest (every JVM has one). */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /**
     * Adds each part's UTF-8 bytes after its length (4 bytes), so that no two lists of parts hash alike by moving text
     * from one part to the next ({@code "ab","c"} and {@code "a","bc"} differ). A null part is hashed as the text
     * {@code "\0null"}.
     */
    public static void updateFields(MessageDigest md, String... parts) {
        for (String p : parts) {
            byte[] b = (p == null ? "\u0000null" : p).getBytes(StandardCharsets.UTF_8);
            md.update(ByteBuffer.allocate(4).putInt(b.length).array());
            md.update(b);
        }
    }

    /** Adds the text's UTF-8 bytes, without a length. */
    public static void update(MessageDigest md, String text) {
        md.update(text.getBytes(StandardCharsets.UTF_8));
    }

    /** The digest as 64 lower-case hex digits (and resets it). */
    public static String hex(MessageDigest md) {
        return HexFormat.of().formatHex(md.digest());
    }
}
