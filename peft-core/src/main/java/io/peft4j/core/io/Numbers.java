package io.peft4j.core.io;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Conversions between stored little-endian numbers (F64/F32/F16/BF16/ints) and ND4J arrays. */
final class Numbers {
    private Numbers() {
    }

    static INDArray toArray(ByteBuffer buf, String dtype, int n, long[] shape, DataType type) {
        ByteBuffer b = buf.order(ByteOrder.LITTLE_ENDIAN);
        if (type == DataType.DOUBLE) {
            double[] out = new double[n];
            switch (dtype) {
                case "F64" -> b.asDoubleBuffer().get(out);
                case "F32" -> {
                    var fb = b.asFloatBuffer();
                    for (int i = 0; i < n; i++) out[i] = fb.get(i);
                }
                default -> {
                    for (int i = 0; i < n; i++) out[i] = element(b, dtype, i);
                }
            }
            return Nd4j.create(out, shape, 'c');
        }
        float[] out = new float[n];
        switch (dtype) {
            case "F32" -> b.asFloatBuffer().get(out);
            case "BF16" -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((sb.get(i) & 0xffff) << 16);
            }
            case "F16" -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < n; i++) out[i] = halfToFloat(sb.get(i));
            }
            default -> {
                for (int i = 0; i < n; i++) out[i] = (float) element(b, dtype, i);
            }
        }
        INDArray a = Nd4j.create(out, shape, 'c');
        return type == DataType.FLOAT ? a : a.castTo(type);
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
