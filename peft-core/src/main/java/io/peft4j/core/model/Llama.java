package io.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.model.Blocks.Linear;
import io.peft4j.core.model.Blocks.RmsNorm;
import io.peft4j.core.model.Weights.Candidate;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Llama (Touvron et al. 2023; Llama 2 and 3.x alike) as Hugging Face's {@code LlamaForCausalLM} computes it:
 * pre-norm blocks with RMS norm, rotary positions on the queries and keys, grouped-query attention, a SwiGLU
 * feed-forward network, and an LM head that is its own matrix or the token embeddings ({@code tie_word_embeddings}).
 * {@link Mistral} (a sliding attention window) and {@link Qwen2} (query/key/value biases) are this model with their
 * own config readers.
 *
 * <pre>
 * x = E[ids]
 * per layer:  h = RMSNorm_1(x);  q = RoPE(W_q h),  k = RoPE(W_k h),  v = W_v h      (k, v: G ≤ H heads)
 *             x = x + W_o causal_attn(q, repeat_{H/G}(k), repeat_{H/G}(v))
 *             h = RMSNorm_2(x);  x = x + W_down (silu(W_gate h) ⊙ W_up h)
 * logits = RMSNorm_f(x) W_headᵀ      (W_head = E when tied)
 * </pre>
 * Weights are {@code nn.Linear} {@code [out, in]} under {@code model.} ({@code model.layers.{i}.self_attn.q_proj.weight},
 * {@code model.embed_tokens.weight}, {@code model.norm.weight}) and {@code lm_head.weight}; bare {@code LlamaModel}
 * keys (without {@code model.}) are read too. Prefix keys are used as given (not rotated, as cached keys), and the
 * real tokens then take positions P, P + 1, ..., as with Hugging Face's {@code past_key_values}.
 */
public final class Llama extends FrozenTransformer implements Decoder {
    /**
     * Llama's declaration: config fields {@code hidden_size}, {@code intermediate_size}, {@code num_hidden_layers},
     * {@code num_attention_heads}, {@code num_key_value_heads}, {@code head_dim}, {@code max_position_embeddings},
     * {@code rms_norm_eps}, {@code rope_theta}, {@code rope_scaling}, {@code tie_word_embeddings},
     * {@code attention_bias}, {@code mlp_bias}; HF PEFT's defaults (LoRA {@code q_proj}, {@code v_proj}; IA3
     * {@code k_proj}, {@code v_proj}, {@code down_proj} with {@code down_proj} feed-forward); AdapterHub's
     * {@code LlamaAdapterModel} with {@code layers.<i>.attention_adapters} / {@code output_adapters}.
     */
    public static final Architecture ARCHITECTURE = new Architecture("llama", true, "model.", "embed_tokens.weight",
            Map.of("LORA", List.of("q_proj", "v_proj"), "IA3", List.of("k_proj", "v_proj", "down_proj")), List.of("down_proj"), false,
            "LlamaAdapterModel", Llama::adapterHubModule, Llama::readConfig, Llama::writeConfig, Llama::build);

    public static final String EMBEDDINGS = "embeddings";
    public static final String FINAL = "final";
    /** The {@link SiteKind#LAYER_OUTPUT} site of the embeddings' output. */
    public static final String EMBEDDINGS_OUTPUT = "embeddings.output";

    private record Layer(RmsNorm inputNorm, Linear q, Linear k, Linear v, Linear o, RmsNorm postNorm, Linear gate, Linear up,
                         Linear down, int window, String prefixSite, String attnSite, String ffnSite, String outputSite) {
    }

    private final ModelConfig.Rotary rotary;
    private final Tensor embed, head;
    private final List<Layer> layers = new ArrayList<>();
    private final List<String> prefixSites = new ArrayList<>();
    private final RmsNorm norm;

    private Llama(ModelConfig cfg, Weights w, DataType type) {
        super(requireRotary(cfg), type);
        this.rotary = cfg.rotary();
        long d = cfg.hidden(), f = cfg.intermediate(), qw = cfg.queryWidth(), kvw = cfg.keyValueWidth();
        embed = w.get("embed_tokens.weight", names("embed_tokens.weight", false), cfg.vocabSize(), d);
        hooks.declare(new HookSite(EMBEDDINGS, SiteKind.EMBEDDINGS, -1, d, d));
        hooks.declare(new HookSite(EMBEDDINGS_OUTPUT, SiteKind.LAYER_OUTPUT, -1, d, d));
        for (int i = 0; i < cfg.layers(); i++) {
            String p = "layers." + i + ".";
            String prefixSite = p + "self_attn.prefix";
            hooks.declare(new HookSite(prefixSite, SiteKind.ATTENTION_PREFIX, i, kvw, kvw));
            prefixSites.add(prefixSite);
            RmsNorm inputNorm = norm(w, p + "input_layernorm", d);
            Linear q = linear(w, p + "self_attn.q_proj", i, d, qw, rotary.qkvBias());
            Linear k = linear(w, p + "self_attn.k_proj", i, d, kvw, rotary.qkvBias());
            Linear v = linear(w, p + "self_attn.v_proj", i, d, kvw, rotary.qkvBias());
            Linear o = linear(w, p + "self_attn.o_proj", i, qw, d, rotary.outputBias());
            hooks.declare(new HookSite(p + "self_attn.output", SiteKind.ATTENTION_OUTPUT, i, d, d));
            RmsNorm postNorm = norm(w, p + "post_attention_layernorm", d);
            Linear gate = linear(w, p + "mlp.gate_proj", i, d, f, rotary.mlpBias());
            Linear up = linear(w, p + "mlp.up_proj", i, d, f, rotary.mlpBias());
            Linear down = linear(w, p + "mlp.down_proj", i, f, d, rotary.mlpBias());
            hooks.declare(new HookSite(p + "mlp.output", SiteKind.FFN_OUTPUT, i, d, d));
            hooks.declare(new HookSite("layers." + i, SiteKind.LAYER_OUTPUT, i, d, d));
            layers.add(new Layer(inputNorm, q, k, v, o, postNorm, gate, up, down, rotary.windowOf(i), prefixSite,
                    p + "self_attn.output", p + "mlp.output", "layers." + i));
        }
        norm = norm(w, "norm", d);
        hooks.declare(new HookSite(FINAL, SiteKind.FINAL_HIDDEN, -1, d, d));
        head = rotary.tiedHead() ? embed : w.get("lm_head.weight", List.of(new Candidate("lm_head.weight", false)), cfg.vocabSize(), d);
        seal(w);
    }

    /** Builds the model from a config and a checkpoint (null: shapes only); weights become frozen constants. */
    static Llama build(ModelConfig cfg, Checkpoint ckpt, Precision precision) {
        return new Llama(cfg, Weights.of(ckpt, precision), precision.compute());
    }

    /** Builds a Llama-family model (Llama, Mistral, Qwen2) from its config and checkpoint. */
    public static Llama load(ModelConfig cfg, Checkpoint ckpt, DataType type) {
        if (cfg.rotary() == null) throw new PeftException("config: model_type '" + cfg.modelType() + "' is not of the Llama family");
        return build(cfg, ckpt, Precision.of(type));
    }

    /** A stored name: under {@code model.} ({@code LlamaForCausalLM}) first, then bare ({@code LlamaModel}). */
    private static List<Candidate> names(String canonical, boolean transposed) {
        return List.of(new Candidate("model." + canonical, transposed), new Candidate(canonical, transposed));
    }

    private Linear linear(Weights w, String name, int layer, long in, long out, boolean bias) {
        Tensor weight = w.get(name + ".weight", names(name + ".weight", true), in, out);
        Tensor b = bias ? w.get(name + ".bias", names(name + ".bias", false), out) : null;
        hooks.declare(new HookSite(name, SiteKind.LINEAR, layer, in, out));
        return new Linear(name, weight, b);
    }

    private RmsNorm norm(Weights w, String name, long d) {
        return new RmsNorm(w.get(name + ".weight", names(name + ".weight", false), d), cfg.layerNormEps());
    }

    private static ModelConfig requireRotary(ModelConfig cfg) {
        if (cfg.rotary() == null) throw new IllegalArgumentException("model_type " + cfg.modelType() + " has no rotary settings");
        return cfg;
    }

    private static String adapterHubModule(HookSite s) {
        return "layers." + s.layer() + (s.kind() == SiteKind.ATTENTION_OUTPUT ? ".attention_adapters" : ".output_adapters");
    }

    @Override
    public ModelOutput forward(Batch batch, ForwardContext ctx) {
        return forward(batch, ctx, null);
    }

    @Override
    public ModelOutput forward(Batch batch, ForwardContext ctx, KvCache cache) {
        int b = batch.size(), t = batch.length();
        long d = cfg.hidden();
        Blocks.DecoderStart start = Blocks.decoderStart(batch, Ops.reshape(Ops.embedding(embed, batch.flatIds()), b, t, d), cache, hooks, prefixSites, EMBEDDINGS, ctx);
        Tensor x = start.x();
        int[] positions = start.positions();
        int[][] mask = start.mask(), keyMask = start.keyMask();
        boolean first = start.first();
        int total = (int) x.size(1), virtual = start.virtual(t);
        INDArray[] cosSin = rotary.rope().cosSin(positions, type);
        x = Blocks.hidden(EMBEDDINGS_OUTPUT, x, hooks, ctx);
        if (cache != null) cache.advance(keyMask, positions, total);
        Blocks.Packed keys = start.packed();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int layer = i;
            Tensor in = x;
            Tensor mid = Workspaces.block(() -> attention(l, layer, in, cosSin, keyMask, keys, first, cache, ctx));
            x = Blocks.hidden(l.outputSite(), Workspaces.block(() -> feedForward(l, mid, ctx)), hooks, ctx);
        }
        x = Blocks.hidden(FINAL, norm.apply(x), hooks, ctx);
        return new ModelOutput(x, virtual, mask);
    }

    /**
     * The attention sublayer {@code x + W_o attn(RoPE(W_q h), RoPE(W_k h), W_v h)}, h = RMSNorm_1(x), with the
     * G key/value heads shared by H/G query heads each; stores the rotated keys and the values (G heads) in
     * {@code cache} when given.
     */
    private Tensor attention(Layer l, int i, Tensor x, INDArray[] cosSin, int[][] keyMask, Blocks.Packed packed, boolean first, KvCache cache, ForwardContext ctx) {
        Tensor h = l.inputNorm().apply(x);
        Tensor q = Ops.rotary(l.q().apply(h, hooks, ctx), cosSin[0], cosSin[1]);
        Tensor k = Ops.rotary(l.k().apply(h, hooks, ctx), cosSin[0], cosSin[1]);
        Tensor v = l.v().apply(h, hooks, ctx);
        Tensor[] kv = Blocks.keysValues(k, v, l.prefixSite(), i, first, cache, hooks, ctx);
        k = kv[0];
        v = kv[1];
        int heads = cfg.heads(), groups = cfg.keyValueHeads();
        Tensor a = Blocks.attention(q, Blocks.repeatKeyValueHeads(k, groups, heads), Blocks.repeatKeyValueHeads(v, groups, heads),
                heads, keyMask, true, l.window(), packed);
        Tensor o = l.o().apply(a, hooks, ctx);
        o = Blocks.sublayer(l.attnSite(), x, o, UnaryOperator.identity(), hooks, ctx);
        return Ops.add(x, o);
    }

    /** The SwiGLU sublayer (Shazeer 2020) {@code x + W_down (silu(W_gate h) ⊙ W_up h)}, h = RMSNorm_2(x). */
    private Tensor feedForward(Layer l, Tensor x, ForwardContext ctx) {
        Tensor h = l.postNorm().apply(x);
        Tensor m = l.down().apply(Ops.mul(Ops.silu(l.gate().apply(h, hooks, ctx)), l.up().apply(h, hooks, ctx)), hooks, ctx);
        m = Blocks.sublayer(l.ffnSite(), x, m, UnaryOperator.identity(), hooks, ctx);
        return Ops.add(x, m);
    }

    /** LM logits {@code [B, T, V]}: the final hidden states times the head (the token embeddings when tied). */
    @Override
    public Tensor lmLogits(Tensor hidden) {
        long b = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
        return Ops.reshape(Ops.matmul(Ops.reshape(hidden, b * t, d), head, false, true), b, t, cfg.vocabSize());
    }

    // ------------------------------------------------------------------ config.json

    private static ModelConfig readConfig(JsonNode json, String source) {
        ConfigJson c = new ConfigJson(json, source);
        boolean bias = c.bool("attention_bias", false);
        return readFamily(c, "llama", 2048, bias, bias, 0, List.of());
    }

    /**
     * The fields the Llama family shares (names as {@code LlamaConfig}'s), with a family's attention biases and
     * sliding window; {@code defaultPositions} is the family's {@code max_position_embeddings} default. Refuses,
     * naming the field and value, what these models do not compute: other activations, rope types, partial rotary
     * heads, quantized weights.
     */
    static ModelConfig readFamily(ConfigJson c, String modelType, int defaultPositions, boolean qkvBias, boolean outputBias,
                                  int slidingWindow, List<Boolean> windowed) {
        if (c.has("quantization_config")) {
            throw c.fault("field 'quantization_config' is present: quantized checkpoints are not supported (F32, F16 and BF16 weights are)");
        }
        String act = c.text("hidden_act", "silu");
        if (!act.equals("silu")) throw c.fault("field 'hidden_act' is '" + act + "': not supported (the Llama family's SwiGLU uses silu)");
        int d = c.integer("hidden_size", null, ConfigJson.MAX_HIDDEN), heads = c.integer("num_attention_heads", null, ConfigJson.MAX_HIDDEN);
        int groups = c.integer("num_key_value_heads", heads, ConfigJson.MAX_HIDDEN);
        if (heads % groups != 0) {
            throw c.fault("field 'num_key_value_heads' is " + groups + ": it must divide num_attention_heads (" + heads + ")");
        }
        if (!c.has("head_dim") && d % heads != 0) {
            throw c.fault("hidden size " + d + " is not divisible by " + heads + " heads (and no field 'head_dim')");
        }
        int headDim = c.integer("head_dim", d / heads, ConfigJson.MAX_HIDDEN);
        if (headDim % 2 != 0) throw c.fault("field 'head_dim' is " + headDim + ": rotary heads need an even width");
        if ((long) heads * headDim > ConfigJson.MAX_HIDDEN * 4L) {
            throw c.fault("num_attention_heads x head_dim is " + (long) heads * headDim + ", larger than any real model's");
        }
        int positions = c.integer("max_position_embeddings", defaultPositions, ConfigJson.MAX_POSITIONS);
        Rope rope = Rope.read(c, headDim, positions);
        var rotary = new ModelConfig.Rotary(rope, c.bool("tie_word_embeddings", false), qkvBias, outputBias, c.bool("mlp_bias", false),
                slidingWindow, windowed);
        return new ModelConfig(modelType, c.integer("vocab_size", null, ConfigJson.MAX_VOCAB), d, c.integer("num_hidden_layers", null, ConfigJson.MAX_LAYERS),
                heads, groups, headDim, c.integer("intermediate_size", null, ConfigJson.MAX_INTERMEDIATE), positions, 0,
                c.numberAbove("rms_norm_eps", 1e-6, 0), "silu", c.tokenId("pad_token_id", -1), c.tokenId("eos_token_id", -1), rotary);
    }

    private static Map<String, Object> writeConfig(ModelConfig cfg) {
        Map<String, Object> m = writeFamily(cfg);
        m.put("attention_bias", cfg.rotary().qkvBias());
        return m;
    }

    /** The shared fields as Hugging Face writes them. */
    static Map<String, Object> writeFamily(ModelConfig cfg) {
        Map<String, Object> m = new LinkedHashMap<>();
        ModelConfig.Rotary r = cfg.rotary();
        m.put("model_type", cfg.modelType());
        m.put("vocab_size", cfg.vocabSize());
        m.put("hidden_size", cfg.hidden());
        m.put("intermediate_size", cfg.intermediate());
        m.put("num_hidden_layers", cfg.layers());
        m.put("num_attention_heads", cfg.heads());
        m.put("num_key_value_heads", cfg.keyValueHeads());
        m.put("head_dim", cfg.headDim());
        m.put("max_position_embeddings", cfg.maxPositions());
        m.put("rms_norm_eps", cfg.layerNormEps());
        m.put("hidden_act", cfg.activation());
        m.put("rope_theta", r.rope().theta());
        m.put("rope_scaling", r.rope().scalingJson());
        m.put("tie_word_embeddings", r.tiedHead());
        m.put("mlp_bias", r.mlpBias());
        if (cfg.padTokenId() >= 0) m.put("pad_token_id", cfg.padTokenId());
        if (cfg.eosTokenId() >= 0) m.put("eos_token_id", cfg.eosTokenId());
        return m;
    }
}
