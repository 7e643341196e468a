package io.peft4j.core.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Rotary position embeddings (Su et al. 2021) as Hugging Face's Llama family configures them: position p
 * rotates each pair {@code (x_i, x_{i + dim/2})} of a head by the angle {@code p·ω_i}, with
 * {@code ω_i = θ^(-2i/dim)} scaled by {@code rope_scaling}:
 * <ul>
 *   <li>{@code default}: as above;</li>
 *   <li>{@code linear} (position interpolation): {@code ω_i / factor};</li>
 *   <li>{@code dynamic} (NTK-aware): for a pass reaching {@code s > max_position_embeddings} positions,
 *       {@code θ' = θ·(factor·s/max - (factor - 1))^(dim/(dim - 2))}; shorter passes use θ;</li>
 *   <li>{@code llama3} (Llama 3.1): with wavelength {@code λ_i = 2π/ω_i} and the original context {@code L},
 *       {@code ω_i} is kept where {@code λ_i < L/high_freq_factor}, divided by {@code factor} where
 *       {@code λ_i > L/low_freq_factor}, and in between interpolated as {@code (1 - s)·ω_i/factor + s·ω_i} with
 *       {@code s = (L/λ_i - low_freq_factor)/(high_freq_factor - low_freq_factor)}.</li>
 * </ul>
 * The dynamic type is computed per pass from that pass's positions; Hugging Face keeps the frequencies of the
 * longest sequence seen so far until a sequence shorter than {@code max_position_embeddings} comes, so a model
 * that first saw a longer pass can differ there.
 *
 * @param theta                {@code rope_theta}
 * @param dim                  the rotated width: the head dimension
 * @param type                 {@code default}, {@code linear}, {@code dynamic} or {@code llama3}
 * @param factor               {@code rope_scaling.factor} (1 for default)
 * @param lowFreqFactor        llama3's {@code low_freq_factor}
 * @param highFreqFactor       llama3's {@code high_freq_factor}
 * @param originalMaxPositions llama3's {@code original_max_position_embeddings}
 * @param maxPositions         {@code max_position_embeddings} (the dynamic type's threshold)
 */
public record Rope(double theta, int dim, String type, double factor, double lowFreqFactor, double highFreqFactor,
                   int originalMaxPositions, int maxPositions) {
    /** The {@code rope_scaling} types computed here. */
    public static final java.util.List<String> TYPES = java.util.List.of("default", "linear", "dynamic", "llama3");

    public Rope {
        if (dim <= 0 || dim % 2 != 0) throw new IllegalArgumentException("rotary dimension " + dim + " must be even and positive");
        if (!TYPES.contains(type)) throw new IllegalArgumentException("rope type '" + type + "' is not one of " + TYPES);
    }

    /** Unscaled RoPE with base {@code theta}. */
    public static Rope plain(double theta, int dim, int maxPositions) {
        return new Rope(theta, dim, "default", 1, 0, 0, 0, maxPositions);
    }

    /** {@code ω_i} for a pass over {@code seqLen} positions (only the dynamic type depends on it). */
    public double[] inverseFrequencies(int seqLen) {
        double base = theta;
        if (type.equals("dynamic") && seqLen > maxPositions) {
            base = theta * Math.pow(factor * seqLen / maxPositions - (factor - 1), dim / (dim - 2.0));
        }
        double[] w = new double[dim / 2];
        for (int i = 0; i < w.length; i++) w[i] = 1.0 / Math.pow(base, 2.0 * i / dim);
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < w.length; i++) w[i] /= factor;
            }
            case "llama3" -> {
                double lowWavelength = originalMaxPositions / lowFreqFactor, highWavelength = originalMaxPositions / highFreqFactor;
                for (int i = 0; i < w.length; i++) {
                    double wavelength = 2 * Math.PI / w[i];
                    if (wavelength > lowWavelength) {
                        w[i] /= factor;
                    } else if (wavelength >= highWavelength) {
                        double s = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                        w[i] = (1 - s) * w[i] / factor + s * w[i];
                    }
                }
            }
            default -> {
            }
        }
        return w;
    }

    /**
     * {@code cos(p·ω_i)} and {@code sin(p·ω_i)} for each of {@code positions}, as two {@code [positions, dim/2]}
     * arrays of {@code type}; computed in double.
     */
    public INDArray[] cosSin(int[] positions, DataType type) {
        int seqLen = Blocks.positionsNeeded(positions);
        double[] w = inverseFrequencies(seqLen);
        int half = dim / 2;
        double[] cos = new double[positions.length * half], sin = new double[positions.length * half];
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < half; i++) {
                double a = positions[r] * w[i];
                cos[r * half + i] = Math.cos(a);
                sin[r * half + i] = Math.sin(a);
            }
        }
        long[] shape = {positions.length, half};
        return new INDArray[]{Nd4j.create(cos, shape, 'c').castTo(type), Nd4j.create(sin, shape, 'c').castTo(type)};
    }

    /** Reads {@code rope_theta} and {@code rope_scaling}; faults name the field and its value. */
    static Rope read(ConfigJson c, int dim, int maxPositions) {
        double theta = c.numberAbove("rope_theta", 10000.0, 0);
        if (theta > 1e12) throw c.fault("field 'rope_theta' is " + c.node("rope_theta") + ", larger than any real model's (at most 1e12)");
        if (c.has("partial_rotary_factor") && c.number("partial_rotary_factor", 1) != 1.0) {
            throw c.fault("field 'partial_rotary_factor' is " + c.node("partial_rotary_factor") + ": only fully rotary heads (1.0) are supported");
        }
        ConfigJson s = c.object("rope_scaling");
        if (s == null) return plain(theta, dim, maxPositions);
        String typeField = s.has("rope_type") ? "rope_type" : "type";
        String type = s.text(typeField, "default");
        if (!TYPES.contains(type)) {
            throw c.fault("field '" + s.name(typeField) + "' is '" + type + "': not supported (" + String.join(", ", TYPES) + ")");
        }
        return switch (type) {
            case "default" -> plain(theta, dim, maxPositions);
            case "linear", "dynamic" -> new Rope(theta, dim, type, factor(s), 0, 0, 0, maxPositions);
            default -> {
                double low = requiredNumber(s, "low_freq_factor"), high = requiredNumber(s, "high_freq_factor");
                if (!(high > low)) {
                    throw c.fault("field '" + s.name("high_freq_factor") + "' is " + high + ": it must be larger than low_freq_factor (" + low + ")");
                }
                if (!(low > 0)) throw c.fault("field '" + s.name("low_freq_factor") + "' is " + low + ": it must be positive");
                int original = s.integer("original_max_position_embeddings", null, ConfigJson.MAX_POSITIONS);
                yield new Rope(theta, dim, type, factor(s), low, high, original, maxPositions);
            }
        };
    }

    private static double factor(ConfigJson s) {
        double f = requiredNumber(s, "factor");
        if (!(f > 0) || f > 1e6) throw s.fault("field '" + s.name("factor") + "' is " + f + ": it must be positive (at most 1e6)");
        return f;
    }

    private static double requiredNumber(ConfigJson s, String field) {
        if (!s.has(field)) throw s.fault("missing field '" + s.name(field) + "'");
        return s.number(field, 0);
    }

    /** {@code rope_scaling} as Hugging Face writes it, or null for unscaled RoPE. */
    Map<String, Object> scalingJson() {
        if (type.equals("default")) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rope_type", type);
        m.put("factor", factor);
        if (type.equals("llama3")) {
            m.put("low_freq_factor", lowFreqFactor);
            m.put("high_freq_factor", highFreqFactor);
            m.put("original_max_position_embeddings", originalMaxPositions);
        }
        return m;
    }
}
