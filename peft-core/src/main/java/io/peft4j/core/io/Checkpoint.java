package io.peft4j.core.io;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.Closeable;
import java.util.Set;

/** Named tensors on disk, read one at a time: a safetensors file (or shards) or a TensorFlow bundle. */
public interface Checkpoint extends Closeable {
    /** The tensor names as stored. */
    Set<String> names();

    /** The stored shape of {@code name}. */
    long[] shape(String name);

    /** Reads {@code name} converted to {@code type}. */
    INDArray load(String name, DataType type);

    /** The file that names every tensor (the safetensors file, the shard index, the bundle's index), for error messages. */
    java.nio.file.Path path();

    /** The file that records {@code name}'s type and shape (a safetensors shard, a bundle's index), for error messages. */
    String fileOf(String name);

    @Override
    void close();
}
