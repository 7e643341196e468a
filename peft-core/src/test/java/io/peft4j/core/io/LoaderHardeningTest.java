package io.peft4j.core.io;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The defects a fuzz run of the loaders found (issue 14), each as the file that showed it: every one must be
 * refused with one {@link PeftException} naming the file and the fault, before anything is sized from it.
 * The fuzz suite ({@code peft-fuzz}) runs the same cases in a forked JVM, where a crash fails the test.
 */
class LoaderHardeningTest {
    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ TensorFlow bundles

    /** A one-tensor bundle: dtype F32, the given dims, offset and size, over a data shard of {@code dataBytes}. */
    private Path bundle(String name, long[] dims, long offset, long size, int dataBytes) throws Exception {
        Files.write(tmp.resolve(name + ".data-00000-of-00001"), new byte[dataBytes]);
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        for (long d : dims) {
            byte[] dim = concat(new byte[]{0x08}, varint(d));                    // TensorShapeProto.Dim.size
            shape.writeBytes(concat(new byte[]{0x12}, varint(dim.length), dim));  // TensorShapeProto.dim
        }
        byte[] entry = concat(new byte[]{0x08, 0x01, 0x12}, varint(shape.size()), shape.toByteArray(),
                new byte[]{0x20}, varint(offset), new byte[]{0x28}, varint(size));
        byte[] header = {0x08, 0x01};
        Path index = tmp.resolve(name + ".index");
        Files.write(index, CheckpointInputTest.TfTable.file(CheckpointInputTest.TfTable.block(new String[]{"", "w"}, new byte[][]{header, entry})));
        return index;
    }

    static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        return CheckpointInputTest.concat(parts);
    }

    @Test
    void tensorFlowEntriesClaimingMoreElementsThanTheirBytesAreRefusedWhenTheBundleOpens() throws Exception {
        // these loaded as arrays of ~4.6e18 elements backed by 4 (or 0) bytes; reading one crashed the JVM
        Path a = bundle("a", new long[]{(1L << 62) + 1}, 0, 4, 4);
        assertThatThrownBy(() -> TfBundle.open(a)).isInstanceOf(PeftException.class).hasMessageContaining("a.index")
                .hasMessageContaining("tensor 'w': shape [4611686018427387905] overflows");
        Path b = bundle("b", new long[]{1L << 31, 1L << 31}, 0, 0, 4);
        assertThatThrownBy(() -> TfBundle.open(b)).isInstanceOf(PeftException.class).hasMessageContaining("b.index")
                .hasMessageContaining("tensor 'w': shape [2147483648, 2147483648] overflows");
        Path c = bundle("c", new long[]{3}, 0, 8, 16);
        assertThatThrownBy(() -> TfBundle.open(c)).hasMessageContaining("c.index").hasMessageContaining("shape [3] of F32 needs 12 bytes but the entry has 8");
    }

    @Test
    void tensorFlowOffsetsThatWouldWrapPastTheFileAreRefused() throws Exception {
        long offset = (1L << 63) - (1L << 33) + 1;        // offset + size wrapped to a negative number and passed
        Path p = bundle("wrap", new long[]{(1L << 31)}, offset, 1L << 33, 64);
        assertThatThrownBy(() -> TfBundle.open(p)).isInstanceOf(PeftException.class).hasMessageContaining("wrap.index")
                .hasMessageContaining("lie past the end of data shard wrap.data-00000-of-00001 (64 bytes)");
    }

    // ------------------------------------------------------------------ safetensors

    private Path safetensors(String name, long headerLength, String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h).put(data);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    @Test
    void aSafetensorsHeaderLengthOffByOneIsRefused() throws Exception {
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ";   // padded with spaces, as writers do
        byte[] data = new byte[8];
        Path good = safetensors("good.safetensors", header.length(), header, data);
        try (SafeTensors st = SafeTensors.open(good)) {
            assertThat(st.load("x", DataType.FLOAT).toFloatVector()).containsExactly(0f, 0f);
        }
        // one byte short: a padding space becomes data and every tensor shifts by a byte (the logits were non-finite)
        Path shorter = safetensors("short.safetensors", header.length() - 1, header, data);
        assertThatThrownBy(() -> SafeTensors.open(shorter)).isInstanceOf(PeftException.class).hasMessageContaining("short.safetensors")
                .hasMessageContaining("the tensors end at byte 8 of the data section, which has 9 bytes");
        // one byte long: the first data byte is read as header
        data[0] = 'z';
        Path longer = safetensors("long.safetensors", header.length() + 1, header, data);
        assertThatThrownBy(() -> SafeTensors.open(longer)).isInstanceOf(PeftException.class).hasMessageContaining("long.safetensors")
                .hasMessageContaining("malformed JSON");
        // cut mid-object
        String unpadded = header.strip();
        Path cut = safetensors("cut.safetensors", unpadded.length() - 1, unpadded, data);
        assertThatThrownBy(() -> SafeTensors.open(cut)).isInstanceOf(PeftException.class).hasMessageContaining("cut.safetensors").hasMessageContaining("malformed JSON");
    }

    @Test
    void safetensorsDataMustBeTiledByItsTensors() throws Exception {
        String gap = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        Path p = safetensors("gap.safetensors", gap.length(), gap, new byte[12]);
        assertThatThrownBy(() -> SafeTensors.open(p)).hasMessageContaining("gap.safetensors").hasMessageContaining("bytes 4..8 of the data section belong to no tensor");
        String frac = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}";
        Path f = safetensors("frac.safetensors", frac.length(), frac, new byte[4]);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining("frac.safetensors").hasMessageContaining("bad dimension 1.5");
    }

    // ------------------------------------------------------------------ tokenizers

    /** GPT-2's byte-to-symbol table ({@code bytes_to_unicode}), written out here independently of the tokenizer. */
    static String byteSymbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) return String.valueOf((char) b);
        int n = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) n++;
        }
        return String.valueOf((char) (256 + n));
    }

    /** A byte-level vocabulary: the 256 byte symbols plus {@code extra}, as a JSON object. */
    static Map<String, Object> byteVocab(Map<String, Object> extra) {
        Map<String, Object> v = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) v.put(byteSymbol(b), b);
        v.putAll(extra);
        return v;
    }

    private Path bpeDir(String name, Map<String, Object> vocab, String merges) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        Json.write(d.resolve("vocab.json"), vocab);
        Files.writeString(d.resolve("merges.txt"), "#version: 0.2\n" + merges);
        return d;
    }

    @Test
    void vocabularyIdsMustBeSmallDistinctIntegersAndFaultsNameVocabJson() throws Exception {
        for (Object id : new Object[]{2147483647, 2e9, 1.5, -3}) {
            Path d = bpeDir("ids" + id.hashCode(), byteVocab(Map.of("hello", id)), "");
            assertThatThrownBy(() -> Tokenizers.load(d)).as("id %s", id).isInstanceOf(PeftException.class)
                    .hasMessageContaining("vocab.json").hasMessageNotContaining("merges.txt").hasMessageContaining("token 'hello' has id " + Json.MAPPER.valueToTree(id));
        }
        Path dup = bpeDir("dup", byteVocab(Map.of("he", 300, "ll", 300)), "");
        assertThatThrownBy(() -> Tokenizers.load(dup)).hasMessageContaining("vocab.json").hasMessageContaining("both have id 300");
        Path empty = bpeDir("empty", Map.of(), "");
        assertThatThrownBy(() -> Tokenizers.load(empty)).hasMessageContaining("vocab.json").hasMessageContaining("empty vocabulary");
        // tokenizer.json's BPE model: the same checks, naming the field
        Path tj = Files.createDirectories(tmp.resolve("tj"));
        Json.write(tj.resolve("tokenizer.json"), Map.of("model", Map.of("type", "BPE", "vocab", byteVocab(Map.of("x!", 2147483647)), "merges", java.util.List.of())));
        assertThatThrownBy(() -> Tokenizers.load(tj)).hasMessageContaining("tokenizer.json").hasMessageContaining("model.vocab: token 'x!' has id 2147483647");
    }

    @Test
    void aByteLevelVocabularyOrMergesThatCannotEncodeEveryTextAreRefusedWhenTheyLoad() throws Exception {
        Map<String, Object> v = byteVocab(Map.of());
        v.remove("!");
        Path noBang = bpeDir("nobang", v, "");
        assertThatThrownBy(() -> Tokenizers.load(noBang)).isInstanceOf(PeftException.class).hasMessageContaining("vocab.json")
                .hasMessageContaining("byte symbol '!' (byte 0x21) is not in the vocabulary");
        Path merges = bpeDir("merges", byteVocab(Map.of("he", 256 + 100)), "h e\nl l\n");
        assertThatThrownBy(() -> Tokenizers.load(merges)).hasMessageContaining("merges.txt").hasMessageContaining("merge 2 ('l l'): 'll' is not in the vocabulary");
        Path ok = bpeDir("ok", byteVocab(Map.of("he", 356, "ll", 357)), "h e\nl l\n");
        var tok = Tokenizers.load(ok);
        assertThat(tok.encodeText("hello")).containsExactly(356, 357, 'o');
        assertThat(tok.decode(tok.encodeText("héllo ✓"), false)).isEqualTo("héllo ✓");
    }

    @Test
    void wordPieceTokenizerJsonIdsMustRunWithoutGaps() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("wp"));
        Map<String, Object> vocab = new LinkedHashMap<>(Map.of("[PAD]", 0, "[UNK]", 1, "[CLS]", 2, "[SEP]", 3));
        vocab.put("hello", 3);                                  // a repeated id left a hole and List.of threw NullPointerException
        Json.write(d.resolve("tokenizer.json"), Map.of("model", Map.of("type", "WordPiece", "vocab", vocab)));
        assertThatThrownBy(() -> Tokenizers.load(d)).isInstanceOf(PeftException.class).hasMessageContaining("tokenizer.json")
                .hasMessageContaining("model.vocab: tokens '[SEP]' and 'hello' both have id 3");
        vocab.put("hello", 4.5);
        Json.write(d.resolve("tokenizer.json"), Map.of("model", Map.of("type", "WordPiece", "vocab", vocab)));
        assertThatThrownBy(() -> Tokenizers.load(d)).hasMessageContaining("model.vocab: token 'hello' has id 4.5");
        vocab.put("hello", 7);
        Json.write(d.resolve("tokenizer.json"), Map.of("model", Map.of("type", "WordPiece", "vocab", vocab)));
        assertThatThrownBy(() -> Tokenizers.load(d)).hasMessageContaining("model.vocab: ids must run from 0 to 4 without gaps, but 'hello' has id 7");
    }

    @Test
    void textThatIsNotUtf8IsRefusedSayingWhere() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("utf8"));
        byte[] bytes = "{\"model_type\": \"bert\",\n \"x\": \"caf\u00e9\"}".getBytes(StandardCharsets.UTF_8);
        bytes[bytes.length - 3] = (byte) 0xff;                  // é's second byte: the sequence at its first byte, 0xc3, is malformed
        Files.write(d.resolve("config.json"), bytes);
        assertThatThrownBy(() -> ModelConfig.load(d.resolve("config.json"))).isInstanceOf(PeftException.class).hasMessageContaining("config.json")
                .hasMessageContaining("not valid UTF-8: byte 0xc3 at offset " + (bytes.length - 4) + " (line 2)");
        Files.write(d.resolve("vocab.txt"), new byte[]{'[', 'P', 'A', 'D', ']', '\n', (byte) 0xc3, '\n'});
        assertThatThrownBy(() -> Tokenizers.load(d)).hasMessageContaining("vocab.txt").hasMessageContaining("not valid UTF-8: byte 0xc3 at offset 6 (line 2)");
    }

    // ------------------------------------------------------------------ configs and messages

    @Test
    void configFaultsNameTheConfigFile() throws Exception {
        String gpt2 = Files.readString(Fixtures.dir("gpt2-tiny").resolve("config.json"));
        Path c = tmp.resolve("config.json");
        Files.writeString(c, gpt2.replace("\"n_embd\": 32", "\"n_embd\": 33"));
        assertThatThrownBy(() -> ModelConfig.load(c)).isInstanceOf(PeftException.class).hasMessageStartingWith(c.toString())
                .hasMessageContaining("hidden size 33 is not divisible by 4 heads");
        Files.writeString(c, gpt2.replace("\"gelu_new\"", "\"relu\""));
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageStartingWith(c.toString()).hasMessageContaining("field 'activation_function' is \"relu\": not supported");
        Files.writeString(c, gpt2.replace("\"vocab_size\": 97", "\"vocab_size\": 2000000000"));
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageStartingWith(c.toString()).hasMessageContaining("field 'vocab_size' is 2000000000, larger than any real model's");
        Files.writeString(c, gpt2 + " {}");
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageStartingWith(c.toString()).hasMessageContaining("malformed JSON");
    }

    @Test
    void aMissingTensorAndAnUnknownPeftTypeNameTheirFiles() throws Exception {
        Path m = Files.createDirectories(tmp.resolve("m"));
        Files.copy(Fixtures.dir("gpt2-tiny").resolve("config.json"), m.resolve("config.json"));
        Map<String, INDArray> none = new LinkedHashMap<>();
        SafeTensors.write(m.resolve("model.safetensors"), none, Map.of());
        assertThatThrownBy(() -> Models.load(m, DataType.FLOAT)).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(m.resolve("model.safetensors").toString()).hasMessageContaining("missing tensor 'wte.weight'");
        Path a = Files.createDirectories(tmp.resolve("a"));
        Files.writeString(a.resolve("adapter_config.json"), "{\"peft_type\": \"VERA\"}");
        PeftModel model = PeftModel.of(Models.load(Fixtures.dir("gpt2-tiny"), DataType.FLOAT));
        assertThatThrownBy(() -> model.load(a, "x")).isInstanceOf(PeftException.class)
                .hasMessageStartingWith(a.resolve("adapter_config.json").toString()).hasMessageContaining("unknown peft_type 'VERA'");
    }
}
