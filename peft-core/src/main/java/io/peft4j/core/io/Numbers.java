package io.peft4j.core.io;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;

/** Conversions between stored little-endian numbers (F64/F32/F16/BF16/ints) and ND4J arrays. */
final class Numbers {
    private Numbers() {
    }

    /** The most elements one stored tensor may have (readers index them with an int). */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE;

    /** Elements converted per step when a stored type is not the array's (a small heap buffer, reused). */
    private static final int CHUNK = 1 << 16;

    /**
     * Reads {@code n} stored numbers of {@code dtype} at {@code pos} of {@code ch} into a new array of {@code type}
     * and {@code shape}, straight into the array's native memory. Neither the Java heap nor a mapping of the file
     * ever holds a whole tensor: a heap grown for BERT-base's 94 MB word embeddings keeps its pages, and mapped
     * pages stay resident until a garbage collection unmaps them (440 MB of BERT-base's checkpoint did).
     */
    static INDArray read(FileChannel ch, long pos, String dtype, int n, long[] shape, DataType type) throws IOException {
        if (n == 0) return Nd4j.create(type, shape);
        DataType target = type == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        INDArray a = Nd4j.createUninitialized(target, shape, 'c');
        boolean same = (target == DataType.FLOAT && dtype.equals("F32")) || (target == DataType.DOUBLE && dtype.equals("F64"));
        int width = SafeTensors.dtypeBytes(dtype);
        if (same && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN && (long) n * width <= Integer.MAX_VALUE) {
            ByteBuffer dst = a.data().asNio();
            dst.clear().limit(n * width);
            readFully(ch, dst, pos);
        } else {
            ByteBuffer chunk = ByteBuffer.allocate(Math.min(n, CHUNK) * width).order(ByteOrder.LITTLE_ENDIAN);
            FloatBuffer fdst = target == DataType.FLOAT ? a.data().asNioFloat() : null;
            DoubleBuffer ddst = target == DataType.DOUBLE ? a.data().asNioDouble() : null;
            for (int from = 0; from < n; from += CHUNK) {
                int len = Math.min(CHUNK, n - from);
                chunk.clear().limit(len * width);
                readFully(ch, chunk, pos + (long) from * width);
                for (int i = 0; i < len; i++) {
                    double v = element(chunk, dtype, i);
                    if (fdst != null) fdst.put(from + i, (float) v);
                    else ddst.put(from + i, v);
                }
            }
        }
        if (type == target) return a;
        INDArray cast = a.castTo(type);
        a.close();
        return cast;
    }

    /** Fills {@code buf} from {@code ch} starting at file position {@code pos}. */
    static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        long start = pos - buf.position();
        while (buf.hasRemaining()) {
            int got = ch.read(buf, start + buf.position());
            if (got < 0) throw new IOException("unexpected end of file");
        }
    }

    private static double element(ByteBuffer b, String dtype, int i) {
        return switch (dtype) {
            case "F64" -> b.getDouble(i * 8);
            case "F32" -> b.getFloat(i * 4);
            case "F16" -> halfToFloat(b.getShort(i * 2));
            case "BF16" -> Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
            case "I64" -> b.getLong(i * 8);
            case "U64" -> b.getLong(i * 8);
            case "I32" -> b.getInt(i * 4);
            case "U32" -> b.getInt(i * 4) & 0xffffffffL;
            case "I16" -> b.getShort(i * 2);
            case "U16" -> b.getShort(i * 2) & 0xffff;
            case "I8" -> b.get(i);
            case "U8", "BOOL" -> b.get(i) & 0xff;
            default -> throw new IllegalArgumentException("dtype " + dtype);
        };
    }

    /** IEEE 754 binary16 to float (JDK 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant / 1024f * (float) Math.pow(2, -14);    // subnormal
            return sign != 0 ? -v : v;
        }
        if (exp == 31) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    static ByteBuffer toLittleEndianBytes(INDArray a) {
        INDArray c = a.isView() || a.ordering() != 'c' ? a.dup('c') : a;
        ByteBuffer out;
        if (c.dataType() == DataType.DOUBLE) {
            out = ByteBuffer.allocate(Math.toIntExact(c.length() * 8)).order(ByteOrder.LITTLE_ENDIAN);
            out.asDoubleBuffer().put(c.data().asDouble(), 0, (int) c.length());
        } else {
            out = ByteBuffer.allocate(Math.toIntExact(c.length() * 4)).order(ByteOrder.LITTLE_ENDIAN);
            out.asFloatBuffer().put(c.data().asFloat(), 0, (int) c.length());
        }
        return out;
    }
}
