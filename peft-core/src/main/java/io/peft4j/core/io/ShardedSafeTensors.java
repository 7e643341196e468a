package io.peft4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A checkpoint split over several safetensors files by {@code model.safetensors.index.json}. */
public final class ShardedSafeTensors implements Checkpoint {
    private final Path index;
    private final Map<String, SafeTensors> byName = new LinkedHashMap<>();
    private final List<SafeTensors> shards = new ArrayList<>();

    private ShardedSafeTensors(Path index) {
        this.index = index;
    }

    public static ShardedSafeTensors open(Path indexJson) {
        JsonNode idx = Json.read(indexJson);
        JsonNode map = idx.get("weight_map");
        if (map == null || !map.isObject()) throw PeftException.inFile(indexJson, "missing object 'weight_map'");
        ShardedSafeTensors s = new ShardedSafeTensors(indexJson);
        Map<String, SafeTensors> files = new LinkedHashMap<>();
        try {
            for (var it = map.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().isTextual()) throw PeftException.inFile(indexJson, "weight_map['" + e.getKey() + "'] must be a shard file name, not " + e.getValue());
                String file = e.getValue().asText();
                if (file.isEmpty() || file.equals(".") || file.equals("..") || file.contains("/") || file.contains("\\")) {
                    throw PeftException.inFile(indexJson, "weight_map['" + e.getKey() + "']: bad shard file name '" + file + "'");
                }
                SafeTensors st = files.get(file);
                if (st == null) {
                    try {
                        st = SafeTensors.open(indexJson.resolveSibling(file));
                    } catch (PeftException | java.nio.file.InvalidPathException bad) {
                        throw PeftException.inFile(indexJson, "weight_map['" + e.getKey() + "'] names shard '" + file + "': " + bad.getMessage());
                    }
                    files.put(file, st);
                    s.shards.add(st);
                }
                if (!st.names().contains(e.getKey())) {
                    throw PeftException.inFile(st.file(), "tensor '" + e.getKey() + "' listed in " + indexJson.getFileName() + " is not in this shard");
                }
                s.byName.put(e.getKey(), st);
            }
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public long[] shape(String name) {
        return shard(name).shape(name);
    }

    @Override
    public INDArray load(String name, DataType type) {
        return shard(name).load(name, type);
    }

    @Override
    public String fileOf(String name) {
        return shard(name).fileOf(name);
    }

    private SafeTensors shard(String name) {
        SafeTensors s = byName.get(name);
        if (s == null) throw PeftException.inFile(index, "no tensor named '" + name + "'");
        return s;
    }

    @Override
    public void close() {
        shards.forEach(SafeTensors::close);
    }
}
