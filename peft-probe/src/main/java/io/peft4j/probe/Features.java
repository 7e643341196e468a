package io.peft4j.probe;

import io.peft4j.core.head.Pooling;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pooled features of {@link #rows()} examples: for every selected layer and pooling a float32 matrix
 * {@code [rows, dim]}, row-major. Layers are numbered as Hugging Face's {@code hidden_states}: 0 is the
 * embeddings' output, {@code L} the last layer's (after GPT-2's final layer norm).
 *
 * <pre>{@code
 * Features f = new Features(List.of(0, 12), List.of(Pooling.CLS, Pooling.MEAN), 300, 768);
 * float[] cls12 = f.matrix(12, Pooling.CLS);     // 300 x 768, row i at [i * 768, (i + 1) * 768)
 * }</pre>
 */
public final class Features {
    private final List<Integer> layers;
    private final List<Pooling> poolings;
    private final int rows, dim;
    private final Map<String, float[]> data = new LinkedHashMap<>();

    /** Zero features for the given layers and poolings. */
    public Features(List<Integer> layers, List<Pooling> poolings, int rows, int dim) {
        this(layers, poolings, rows, dim, null);
    }

    private Features(List<Integer> layers, List<Pooling> poolings, int rows, int dim, Map<String, float[]> from) {
        if (layers.isEmpty() || poolings.isEmpty()) throw new IllegalArgumentException("no layers or no poolings");
        if (rows < 0 || dim <= 0 || (long) rows * dim > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(rows + " x " + dim + " features do not fit one array");
        }
        this.layers = List.copyOf(layers);
        this.poolings = List.copyOf(poolings);
        this.rows = rows;
        this.dim = dim;
        for (int l : layers) {
            for (Pooling p : poolings) data.put(key(l, p), from == null ? new float[rows * dim] : from.get(key(l, p)));
        }
    }

    private static String key(int layer, Pooling p) {
        return layer + "/" + p;
    }

    /** The hidden-state indices held, in order. */
    public List<Integer> layers() {
        return layers;
    }

    /** The poolings held, in order. */
    public List<Pooling> poolings() {
        return poolings;
    }

    /** Number of examples. */
    public int rows() {
        return rows;
    }

    /** Feature width (the model's hidden size). */
    public int dim() {
        return dim;
    }

    /** The {@code [rows, dim]} matrix of one layer and pooling, row-major; the array itself (writes change these features). */
    public float[] matrix(int layer, Pooling pooling) {
        float[] m = data.get(key(layer, pooling));
        if (m == null) throw new IllegalArgumentException("no features for layer " + layer + " pooled " + pooling + " (have layers " + layers + ", " + poolings + ")");
        return m;
    }

    /** These features restricted to some layers and poolings (sharing the arrays). */
    public Features select(List<Integer> someLayers, List<Pooling> somePoolings) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int l : someLayers) for (Pooling p : somePoolings) m.put(key(l, p), matrix(l, p));
        return new Features(someLayers, somePoolings, rows, dim, m);
    }

    /** The rows {@code index[0], index[1], ...} (copied), in that order. */
    public Features rows(int[] index) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (var e : data.entrySet()) {
            float[] src = e.getValue(), dst = new float[index.length * dim];
            for (int i = 0; i < index.length; i++) {
                if (index[i] < 0 || index[i] >= rows) throw new IndexOutOfBoundsException("row " + index[i] + " of " + rows);
                System.arraycopy(src, index[i] * dim, dst, i * dim, dim);
            }
            m.put(e.getKey(), dst);
        }
        return new Features(layers, poolings, index.length, dim, m);
    }

    /** The first {@code n} rows (copied). */
    public Features head(int n) {
        return rows(java.util.stream.IntStream.range(0, n).toArray());
    }

    /** The rows from {@code from} on (copied). */
    public Features tail(int from) {
        return rows(java.util.stream.IntStream.range(from, rows).toArray());
    }
}
