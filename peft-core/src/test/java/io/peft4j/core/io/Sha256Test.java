package io.peft4j.core.io;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** Expected digests from FIPS 180-2's test vector and Python's hashlib over the hand-built byte strings. */
class Sha256Test {
    @Test
    void plainTextMatchesTheStandardTestVector() {
        MessageDigest md = Sha256.digest();
        Sha256.update(md, "abc");
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Sha256.hex(md));
    }

    @Test
    void fieldsArePrefixedWithTheirLength() {
        MessageDigest md = Sha256.digest();
        Sha256.updateFields(md, "abc");               // hashlib.sha256(b'\x00\x00\x00\x03abc')
        assertEquals("d04b72a650ce0f8ce4963330a53ee2832733d2baeffff3c1d8e256cca096d120", Sha256.hex(md));
        Sha256.updateFields(md, (String) null);        // hashlib.sha256(b'\x00\x00\x00\x05\x00null')
        assertEquals("b96d11403b98c750077f3a5bdc5d0d16083839e32956a951cd44a897f0e86485", Sha256.hex(md));
    }

    @Test
    void movingTextBetweenFieldsChangesTheDigest() {
        MessageDigest a = Sha256.digest(), b = Sha256.digest();
        Sha256.updateFields(a, "ab", "c");
        Sha256.updateFields(b, "a", "bc");
        assertNotEquals(Sha256.hex(a), Sha256.hex(b));
    }
}
