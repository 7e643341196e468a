package io.peft4j.core.io;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.hub.ModelHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Checkpoint formats: round trips, dtype conversion, sharding, TF bundles, and every kind of bad input. */
class CheckpointInputTest {
    @TempDir
    Path tmp;

    static byte[] safetensors(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    Path file(String name, byte[] bytes) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void writeThenReadRoundTripsExactly() {
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("b.weight", Nd4j.rand(DataType.FLOAT, 3, 5));
        t.put("a.bias", Nd4j.rand(DataType.DOUBLE, 4));
        Path p = tmp.resolve("out/adapter_model.safetensors");
        SafeTensors.write(p, t, Map.of("format", "pt"));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertThat(st.metadata()).containsEntry("format", "pt");
            assertThat(st.entries().get("b.weight").dtype()).isEqualTo("F32");
            assertThat(st.entries().get("a.bias").dtype()).isEqualTo("F64");
            assertThat(st.load("b.weight", DataType.FLOAT)).isEqualTo(t.get("b.weight"));
            assertThat(st.load("a.bias", DataType.DOUBLE)).isEqualTo(t.get("a.bias"));
        }
        assertThat(tmp.resolve("out").toFile().list()).containsExactly("adapter_model.safetensors");   // no temp files left
    }

    @Test
    void halfPrecisionAndBfloat16AreConverted() throws Exception {
        // 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal) in F16; 1.0, -2.5 in BF16
        ByteBuffer d = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        d.putShort((short) 0x3C00).putShort((short) 0xC100).putShort((short) 0x7BFF).putShort((short) 0x0001);
        d.putShort((short) 0x3F80).putShort((short) 0xC020);
        Path p = file("h.safetensors", safetensors("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}", d.array()));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertThat(st.load("h", DataType.FLOAT).toFloatVector()).containsExactly(1f, -2.5f, 65504f, (float) Math.pow(2, -24));
            assertThat(st.load("b", DataType.FLOAT).toFloatVector()).containsExactly(1f, -2.5f);
        }
    }

    /**
     * Tensors read straight into native memory: an F32 tensor after another one (a non-zero file offset), read as
     * float and as double, and an F16 tensor longer than one conversion chunk (65,536 elements).
     */
    @Test
    void largeTensorsAtOffsetsAreReadWhole() throws Exception {
        int n = 70_001;
        ByteBuffer d = ByteBuffer.allocate(12 + 4 * n + 2 * n).order(ByteOrder.LITTLE_ENDIAN);
        d.putFloat(7f).putFloat(8f).putFloat(9f);
        for (int i = 0; i < n; i++) d.putFloat(i * 0.5f - 3f);
        for (int i = 0; i < n; i++) d.putShort((short) (0x3C00 + (i % 1024)));          // 1 + (i mod 1024)/1024
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[12," + (12 + 4 * n) + "]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[" + n + "],\"data_offsets\":[" + (12 + 4 * n) + "," + (12 + 6 * n) + "]}}";
        Path p = file("big.safetensors", safetensors(header, d.array()));
        try (SafeTensors st = SafeTensors.open(p)) {
            float[] f = st.load("f", DataType.FLOAT).toFloatVector();
            double[] fd = st.load("f", DataType.DOUBLE).toDoubleVector();
            float[] h = st.load("h", DataType.FLOAT).toFloatVector();
            assertThat(f).hasSize(n);
            for (int i = 0; i < n; i += 997) {
                assertThat(f[i]).isEqualTo(i * 0.5f - 3f);
                assertThat(fd[i]).isEqualTo(i * 0.5f - 3f);
                assertThat(h[i]).isEqualTo(1f + (i % 1024) / 1024f);
            }
            assertThat(f[n - 1]).isEqualTo((n - 1) * 0.5f - 3f);
            assertThat(h[n - 1]).isEqualTo(1f + ((n - 1) % 1024) / 1024f);
            assertThat(st.load("x", DataType.FLOAT).toFloatVector()).containsExactly(7f, 8f, 9f);
        }
    }

    @Test
    void hostileOrCorruptSafetensorsHeadersAreRejectedByName() throws Exception {
        byte[] data = new byte[16];
        assertBad(file("short.safetensors", new byte[5]), "shorter than the 8-byte header length");
        ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
        assertBad(file("huge.safetensors", huge.array()), "past the end of the file");
        assertBad(file("json.safetensors", safetensors("{not json", data)), "malformed JSON");
        assertBad(file("dtype.safetensors", safetensors("{\"x\":{\"dtype\":\"Q7\",\"shape\":[4],\"data_offsets\":[0,16]}}", data)), "unknown dtype 'Q7'");
        assertBad(file("outside.safetensors", safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", data)), "outside the data section");
        assertBad(file("size.safetensors", safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", data)), "needs 12 bytes but data_offsets span 16");
        assertBad(file("overlap.safetensors", safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", data)), "overlap");
        assertBad(file("neg.safetensors", safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data)), "bad dimension");
        assertBad(file("overflow.safetensors", safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", data)), "overflows");
        assertBad(tmp.resolve("missing.safetensors"), "file not found");
    }

    private static void assertBad(Path p, String fault) {
        assertThatThrownBy(() -> SafeTensors.open(p).close()).isInstanceOf(PeftException.class)
                .hasMessageContaining(p.getFileName().toString()).hasMessageContaining(fault);
    }

    @Test
    void shardedCheckpointLoadsLikeTheSingleFile() throws Exception {
        Path src = Fixtures.dir("gpt2-tiny");
        Map<String, INDArray> all = SafeTensors.readAll(src.resolve("model.safetensors"), DataType.FLOAT);
        Map<String, INDArray> s1 = new LinkedHashMap<>(), s2 = new LinkedHashMap<>();
        Map<String, String> weightMap = new LinkedHashMap<>();
        int i = 0;
        for (var e : all.entrySet()) {
            String shard = i++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (shard.contains("00001-") ? s1 : s2).put(e.getKey(), e.getValue());
            weightMap.put(e.getKey(), shard);
        }
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model-00001-of-00002.safetensors"), s1, Map.of());
        SafeTensors.write(dir.resolve("model-00002-of-00002.safetensors"), s2, Map.of());
        Json.write(dir.resolve("model.safetensors.index.json"), Map.of("metadata", Map.of(), "weight_map", weightMap));
        TransformerModel a = Models.load(src, DataType.FLOAT), b = Models.load(dir, DataType.FLOAT);
        a.parameters().forEach((k, v) -> assertThat(b.parameters().get(k).value()).as(k).isEqualTo(v.value()));
    }

    @Test
    void configErrorsNameTheFieldAndFile() throws Exception {
        Path c = tmp.resolve("config.json");
        Files.writeString(c, "{\"model_type\": \"gpt2\", \"vocab_size\": 10, \"n_layer\": 2, \"n_head\": 2, \"n_positions\": 8}");
        assertThatThrownBy(() -> ModelConfig.load(c)).isInstanceOf(PeftException.class).hasMessageContaining("config.json").hasMessageContaining("missing field 'n_embd'");
        Files.writeString(c, "{\"model_type\": \"gpt2\", \"vocab_size\": 10, \"n_embd\": \"big\", \"n_layer\": 2, \"n_head\": 2, \"n_positions\": 8}");
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageContaining("field 'n_embd' must be a positive integer");
        Files.writeString(c, "{\"model_type\": \"t5\"}");
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageContaining("model_type 't5' is not supported");
        Files.writeString(c, "{\"model_type\": ");
        assertThatThrownBy(() -> ModelConfig.load(c)).hasMessageContaining("config.json").hasMessageContaining("malformed JSON");
    }

    @Test
    void weightsThatDoNotFitTheConfigAreNamed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), Files.readString(Fixtures.dir("gpt2-tiny").resolve("config.json")).replace("\"n_embd\": 32", "\"n_embd\": 64"));
        Files.copy(Fixtures.dir("gpt2-tiny").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> Models.load(dir, DataType.FLOAT)).isInstanceOf(PeftException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("'wte.weight' has shape [97, 32] but the config implies [97, 64]");
        Map<String, INDArray> w = SafeTensors.readAll(Fixtures.dir("gpt2-tiny").resolve("model.safetensors"), DataType.FLOAT);
        w.remove("h.1.mlp.c_fc.weight");
        Files.copy(Fixtures.dir("gpt2-tiny").resolve("config.json"), dir.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        SafeTensors.write(dir.resolve("model.safetensors"), w, Map.of());
        assertThatThrownBy(() -> Models.load(dir, DataType.FLOAT)).hasMessageContaining("missing tensor 'h.1.mlp.c_fc.weight'");
        assertThatThrownBy(() -> ModelHub.resolve("gpt-17-huge")).isInstanceOf(PeftException.class).hasMessageContaining("not a known model name");
    }

    /** A TF bundle written here by hand (LevelDB table + BundleEntryProto), then corrupted. */
    @Test
    void tensorFlowBundleReadsAndRejectsCorruptIndexes() throws Exception {
        float[] values = {1.5f, -2f, 3.25f, 4f, 5f, 6f};
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) data.putFloat(v);
        Files.write(tmp.resolve("model.ckpt.data-00000-of-00001"), data.array());
        byte[] header = {0x08, 0x01};                                     // num_shards = 1
        byte[] shape = {0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03};  // dims 2, 3
        byte[] entry = concat(new byte[]{0x08, 0x01, 0x12, (byte) shape.length}, shape, new byte[]{0x20, 0x00, 0x28, 0x18});
        byte[] block = TfTable.block(new String[]{"", "bert/w"}, new byte[][]{header, entry});
        Files.write(tmp.resolve("model.ckpt.index"), TfTable.file(block));
        try (TfBundle b = TfBundle.open(tmp.resolve("model.ckpt.index"))) {
            assertThat(b.names()).containsExactly("bert/w");
            assertThat(b.load("bert/w", DataType.FLOAT)).isEqualTo(Nd4j.create(values, new long[]{2, 3}, 'c'));
        }
        byte[] bad = TfTable.file(block);
        bad[bad.length - 1] ^= 0x55;
        Files.write(tmp.resolve("bad.ckpt.index"), bad);
        assertThatThrownBy(() -> TfBundle.open(tmp.resolve("bad.ckpt.index"))).isInstanceOf(PeftException.class)
                .hasMessageContaining("bad.ckpt.index").hasMessageContaining("corrupt TensorFlow index: bad table magic");
        byte[] past = concat(new byte[]{0x08, 0x01, 0x12, (byte) shape.length}, shape, new byte[]{0x20, 0x00, 0x28, 0x40});
        Files.write(tmp.resolve("past.ckpt.index"), TfTable.file(TfTable.block(new String[]{"", "w"}, new byte[][]{header, past})));
        Files.write(tmp.resolve("past.ckpt.data-00000-of-00001"), data.array());
        assertThatThrownBy(() -> TfBundle.open(tmp.resolve("past.ckpt.index"))).hasMessageContaining("past.ckpt.index")
                .hasMessageContaining("tensor 'w': bytes 0 + 64 lie past the end of data shard past.ckpt.data-00000-of-00001 (24 bytes)");
        byte[] truncated = java.util.Arrays.copyOf(TfTable.file(block), 20);
        Files.write(tmp.resolve("trunc.ckpt.index"), truncated);
        assertThatThrownBy(() -> TfBundle.open(tmp.resolve("trunc.ckpt.index"))).hasMessageContaining("shorter than a table footer");
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) b.put(p);
        return b.array();
    }

    /** Writes minimal uncompressed LevelDB tables: one data block, one index block, a footer. */
    static final class TfTable {
        static byte[] block(String[] keys, byte[][] values) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < keys.length; i++) {
                byte[] k = keys[i].getBytes(StandardCharsets.UTF_8);
                out.write(0);                       // shared
                out.write(k.length);                // non-shared
                out.write(values[i].length);        // value length
                out.writeBytes(k);
                out.writeBytes(values[i]);
            }
            ByteBuffer restarts = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(1);
            out.writeBytes(restarts.array());
            return out.toByteArray();
        }

        static byte[] file(byte[] dataBlock) {
            byte[] trailer = new byte[5];
            byte[] handle = {0x00, (byte) dataBlock.length};          // offset 0, size (< 128)
            byte[] index = block(new String[]{"~"}, new byte[][]{handle});
            int indexOff = dataBlock.length + 5;
            ByteBuffer footer = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
            footer.put(new byte[]{0x00, 0x00, (byte) indexOff, (byte) index.length});
            footer.position(40);
            footer.putLong(0xdb4775248b80fb57L);
            return concat(dataBlock, trailer, index, trailer, footer.array());
        }
    }
}
