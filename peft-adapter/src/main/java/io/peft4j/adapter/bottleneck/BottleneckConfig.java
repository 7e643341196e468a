package io.peft4j.adapter.bottleneck;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;
import java.util.Locale;

/**
 * Bottleneck adapters with AdapterHub's semantics: {@code A(u) = W_up f(W_down u + b_down) + b_up} with
 * {@code hidden / reductionFactor} units, placed after the attention and/or feed-forward sublayers.
 * With h a sublayer's output and x its input (the model then computes {@code LN(x + h')}):
 * <ul>
 *   <li>{@link Architecture#HOUSLBY} ({@code double_seq_bn}, both sites, rf 16, swish): {@code h' = h + A(h)}</li>
 *   <li>{@link Architecture#PFEIFFER} ({@code seq_bn}, feed-forward site, rf 16, relu): {@code h' = h + A(LN(x + h))}</li>
 *   <li>{@link Architecture#PARALLEL} ({@code par_bn}, feed-forward site, rf 2, relu, scaling 4): {@code h' = h + s·A(x)}</li>
 * </ul>
 * Initialisation as AdapterHub's defaults: {@code bert} (W_down, W_up ~ N(0, 0.02²), zero biases) for Houlsby and
 * Pfeiffer, {@code mam_adapter} (W_down Kaiming-uniform, W_up and biases 0: exactly the identity) for parallel.
 * While training, dropout (if any) applies to A's output.
 *
 * @param leaveOut layers that get no adapter (AdapterHub's {@code leave_out})
 */
public record BottleneckConfig(Architecture architecture, boolean mhAdapter, boolean outputAdapter, int reductionFactor,
                               String nonLinearity, double scaling, double dropout, List<Integer> leaveOut) implements PeftConfig {
    /** The three AdapterHub configurations. */
    public enum Architecture {
        HOUSLBY("houlsby", "double_seq_bn"), PFEIFFER("pfeiffer", "seq_bn"), PARALLEL("parallel", "par_bn");

        private final String shortName, hubName;

        Architecture(String shortName, String hubName) {
            this.shortName = shortName;
            this.hubName = hubName;
        }

        /** AdapterHub's current name of the configuration ({@code seq_bn}, {@code double_seq_bn}, {@code par_bn}). */
        public String hubName() {
            return hubName;
        }

        /** From the short name ({@code houlsby}, {@code pfeiffer}, {@code parallel}) or AdapterHub's, any case. */
        public static Architecture parse(String s) {
            String n = s.toLowerCase(Locale.ROOT);
            for (Architecture a : values()) if (n.equals(a.shortName) || n.equals(a.hubName)) return a;
            throw new IllegalArgumentException("adapter config '" + s + "' is not houlsby, pfeiffer or parallel");
        }
    }

    public BottleneckConfig {
        if (reductionFactor <= 0) throw new IllegalArgumentException("reduction_factor must be positive, not " + reductionFactor);
        if (!mhAdapter && !outputAdapter) throw new IllegalArgumentException("a bottleneck adapter needs mh_adapter or output_adapter");
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("dropout " + dropout + " outside [0, 1)");
        nonLinearity = nonLinearity.toLowerCase(Locale.ROOT);
        if (!List.of("relu", "swish", "silu", "gelu", "tanh").contains(nonLinearity)) {
            throw new IllegalArgumentException("non_linearity '" + nonLinearity + "' is not relu, swish, gelu or tanh");
        }
        leaveOut = leaveOut == null ? List.of() : List.copyOf(leaveOut);
    }

    /** AdapterHub's defaults for an architecture. */
    public static BottleneckConfig of(Architecture a) {
        return switch (a) {
            case HOUSLBY -> new BottleneckConfig(a, true, true, 16, "swish", 1.0, 0.0, null);
            case PFEIFFER -> new BottleneckConfig(a, false, true, 16, "relu", 1.0, 0.0, null);
            case PARALLEL -> new BottleneckConfig(a, false, true, 2, "relu", 4.0, 0.0, null);
        };
    }

    public BottleneckConfig withReductionFactor(int rf) {
        return new BottleneckConfig(architecture, mhAdapter, outputAdapter, rf, nonLinearity, scaling, dropout, leaveOut);
    }

    public BottleneckConfig withDropout(double p) {
        return new BottleneckConfig(architecture, mhAdapter, outputAdapter, reductionFactor, nonLinearity, scaling, p, leaveOut);
    }

    public BottleneckConfig withNonLinearity(String f) {
        return new BottleneckConfig(architecture, mhAdapter, outputAdapter, reductionFactor, f, scaling, dropout, leaveOut);
    }

    @Override
    public String peftType() {
        return "BOTTLENECK";
    }

    /** AdapterHub's {@code adapter_config.json}: the architecture under {@code config}, the base beside it. */
    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        ObjectNode c = n.putObject("config");
        c.put("architecture", "bottleneck");
        c.put("mh_adapter", mhAdapter);
        c.put("output_adapter", outputAdapter);
        c.put("reduction_factor", reductionFactor);
        c.put("non_linearity", nonLinearity);
        c.put("is_parallel", architecture == Architecture.PARALLEL);
        c.put("scaling", scaling);
        c.put("original_ln_before", architecture == Architecture.PFEIFFER);     // seq_bn only; double_seq_bn and par_bn: false
        c.put("original_ln_after", true);
        c.put("residual_before_ln", true);
        c.put("ln_before", false);
        c.put("ln_after", false);
        c.put("init_weights", architecture == Architecture.PARALLEL ? "mam_adapter" : "bert");
        c.put("adapter_residual_before_ln", false);
        c.put("use_gating", false);
        c.put("dropout", dropout);
        leaveOut.forEach(c.putArray("leave_out")::add);
        n.put("hidden_size", base.hidden());
        n.put("model_class", base.architecture().adapterHubModelClass());
        n.put("model_name", base.nameOrPath());
        n.put("model_type", base.modelType());
        n.put("version", "adapters.1.0.0");
        return n;
    }
}
