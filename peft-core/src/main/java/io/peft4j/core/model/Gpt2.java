package io.peft4j.core.model;

import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.model.Blocks.Linear;
import io.peft4j.core.model.Blocks.Norm;
import io.peft4j.core.model.Weights.Candidate;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * GPT-2 (Radford et al. 2019) as Hugging Face's {@code GPT2LMHeadModel} computes it: pre-LayerNorm blocks,
 * tanh GELU ({@code gelu_new}), causal attention, learned positions, an LM head tied to the token
 * embeddings, and a key/value cache for generation.
 *
 * <pre>
 * x = E_tok[ids] + E_pos[pos]
 * per block:  q,k,v = split(c_attn(ln_1 x)),  x = x + c_proj(causal_attn(q, k, v)),
 *             x = x + mlp.c_proj(gelu(mlp.c_fc(ln_2 x)))
 * logits = ln_f(x) E_tokᵀ
 * </pre>
 * Conv1D weights are stored {@code [in, out]} by Hugging Face, as the model uses them.
 */
public final class Gpt2 extends FrozenTransformer implements Decoder {
    /**
     * GPT-2's declaration: config fields {@code n_embd}, {@code n_layer}, {@code n_head}, {@code n_inner},
     * {@code n_positions}, {@code layer_norm_epsilon}, {@code activation_function}, {@code eos_token_id}; HF PEFT's
     * defaults (LoRA {@code c_attn}; IA3 {@code c_attn}, {@code mlp.c_proj} with {@code mlp.c_proj} feed-forward);
     * Conv1D weights {@code [in, out]}; AdapterHub's {@code h.<i>.attention_adapters} / {@code output_adapters}.
     */
    public static final Architecture ARCHITECTURE = new Architecture("gpt2", true, "transformer.", "wte.weight",
            Map.of("LORA", List.of("c_attn"), "IA3", List.of("c_attn", "mlp.c_proj")), List.of("mlp.c_proj"), true,
            "GPT2AdapterModel", s -> "h." + s.layer() + (s.kind() == SiteKind.ATTENTION_OUTPUT ? ".attention_adapters" : ".output_adapters"),
            Gpt2::readConfig, Gpt2::writeConfig, (cfg, ckpt, p) -> new Gpt2(cfg, Weights.of(ckpt, p), p.compute()));

    public static final String EMBEDDINGS = "embeddings";
    public static final String FINAL = "final";
    /** The {@link SiteKind#LAYER_OUTPUT} site of the embeddings' output. */
    public static final String EMBEDDINGS_OUTPUT = "embeddings.output";

    private record Block(Norm ln1, Linear cAttn, Linear attnProj, Norm ln2, Linear fc, Linear mlpProj,
                         String prefixSite, String attnSite, String ffnSite, String outputSite) {
    }

    private final Tensor wte, wpe;
    private final List<Block> blocks = new ArrayList<>();
    private final List<String> prefixSites = new ArrayList<>();
    private final Norm lnF;
    private final Ops.Gelu gelu;

    private Gpt2(ModelConfig cfg, Weights w, DataType type) {
        super(cfg, type);
        this.gelu = Ops.Gelu.forActivation(cfg.activation());      // ModelConfig admits GELUs only
        long d = cfg.hidden(), f = cfg.intermediate();
        wte = w.get("wte.weight", names("wte.weight"), cfg.vocabSize(), d);
        wpe = w.get("wpe.weight", names("wpe.weight"), cfg.maxPositions(), d);
        hooks.declare(new HookSite(EMBEDDINGS, SiteKind.EMBEDDINGS, -1, d, d));
        hooks.declare(new HookSite(EMBEDDINGS_OUTPUT, SiteKind.LAYER_OUTPUT, -1, d, d));
        for (int i = 0; i < cfg.layers(); i++) {
            String p = "h." + i + ".";
            String prefixSite = p + "attn.prefix";
            hooks.declare(new HookSite(prefixSite, SiteKind.ATTENTION_PREFIX, i, d, d));
            prefixSites.add(prefixSite);
            Norm ln1 = norm(w, p + "ln_1", d);
            Linear cAttn = linear(w, p + "attn.c_attn", i, d, 3 * d);
            Linear attnProj = linear(w, p + "attn.c_proj", i, d, d);
            hooks.declare(new HookSite(p + "attn.output", SiteKind.ATTENTION_OUTPUT, i, d, d));
            Norm ln2 = norm(w, p + "ln_2", d);
            Linear fc = linear(w, p + "mlp.c_fc", i, d, f);
            Linear mlpProj = linear(w, p + "mlp.c_proj", i, f, d);
            hooks.declare(new HookSite(p + "mlp.output", SiteKind.FFN_OUTPUT, i, d, d));
            hooks.declare(new HookSite("h." + i, SiteKind.LAYER_OUTPUT, i, d, d));
            blocks.add(new Block(ln1, cAttn, attnProj, ln2, fc, mlpProj, prefixSite, p + "attn.output", p + "mlp.output", "h." + i));
        }
        lnF = norm(w, "ln_f", d);
        hooks.declare(new HookSite(FINAL, SiteKind.FINAL_HIDDEN, -1, d, d));
        seal(w);
    }

    /** Builds the model from a config and a checkpoint; weights become frozen constants of {@code type}. */
    public static Gpt2 load(ModelConfig cfg, Checkpoint ckpt, DataType type) {
        if (cfg.architecture() != ARCHITECTURE) throw new PeftException("config: model_type '" + cfg.modelType() + "' is not gpt2");
        return new Gpt2(cfg, new Weights(ckpt, Precision.of(type)), type);
    }

    private static ModelConfig readConfig(com.fasterxml.jackson.databind.JsonNode json, String source) {
        ConfigJson c = new ConfigJson(json, source);
        int d = c.integer("n_embd", null, ConfigJson.MAX_HIDDEN);
        return new ModelConfig("gpt2", c.integer("vocab_size", null, ConfigJson.MAX_VOCAB), d, c.integer("n_layer", null, ConfigJson.MAX_LAYERS),
                c.integer("n_head", null, ConfigJson.MAX_HIDDEN), c.integer("n_inner", 4 * d, ConfigJson.MAX_INTERMEDIATE),
                c.integer("n_positions", null, ConfigJson.MAX_POSITIONS), 0, c.number("layer_norm_epsilon", 1e-5),
                Blocks.geluActivation(c, "activation_function", "gelu_new"), -1, c.tokenId("eos_token_id", 50256));
    }

    private static Map<String, Object> writeConfig(ModelConfig cfg) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("model_type", cfg.modelType());
        m.put("vocab_size", cfg.vocabSize());
        m.put("n_embd", cfg.hidden());
        m.put("n_layer", cfg.layers());
        m.put("n_head", cfg.heads());
        m.put("n_inner", cfg.intermediate());
        m.put("n_positions", cfg.maxPositions());
        m.put("layer_norm_epsilon", cfg.layerNormEps());
        m.put("activation_function", cfg.activation());
        m.put("eos_token_id", cfg.eosTokenId());
        return m;
    }

    private static List<Candidate> names(String canonical) {
        return List.of(new Candidate(canonical, false), new Candidate("transformer." + canonical, false));
    }

    private Linear linear(Weights w, String name, int layer, long in, long out) {
        Tensor weight = w.get(name + ".weight", names(name + ".weight"), in, out);
        Tensor bias = w.get(name + ".bias", names(name + ".bias"), out);
        hooks.declare(new HookSite(name, SiteKind.LINEAR, layer, in, out));
        return new Linear(name, weight, bias);
    }

    private Norm norm(Weights w, String name, long d) {
        return new Norm(w.get(name + ".weight", names(name + ".weight"), d), w.get(name + ".bias", names(name + ".bias"), d), cfg.layerNormEps());
    }

    @Override
    public ModelOutput forward(Batch batch, ForwardContext ctx) {
        return forward(batch, ctx, null);
    }

    @Override
    public ModelOutput forward(Batch batch, ForwardContext ctx, KvCache cache) {
        int b = batch.size(), t = batch.length();
        long d = cfg.hidden();
        Blocks.DecoderStart start = Blocks.decoderStart(batch, Ops.reshape(Ops.embedding(wte, batch.flatIds()), b, t, d), cache, hooks, prefixSites, EMBEDDINGS, ctx);
        Tensor x = start.x();
        int[] positions = start.positions();
        int[][] mask = start.mask(), keyMask = start.keyMask();
        boolean first = start.first();
        int total = (int) x.size(1), virtual = start.virtual(t);
        int needed = Blocks.positionsNeeded(positions);
        if (needed > cfg.maxPositions()) {
            throw new PeftException("input of " + needed + " positions is longer than the model's " + cfg.maxPositions() + " (n_positions)");
        }
        x = Blocks.hidden(EMBEDDINGS_OUTPUT, Ops.add(x, Ops.reshape(Ops.embedding(wpe, positions), b, total, d)), hooks, ctx);
        if (cache != null) cache.advance(keyMask, positions, total);
        Blocks.Packed keys = start.packed();
        for (int i = 0; i < blocks.size(); i++) {
            Block blk = blocks.get(i);
            int layer = i;
            Tensor in = x;
            Tensor mid = Workspaces.block(() -> attention(blk, layer, in, keyMask, keys, first, cache, ctx));
            x = Blocks.hidden(blk.outputSite(), Workspaces.block(() -> mlp(blk, mid, ctx)), hooks, ctx);
        }
        x = Blocks.hidden(FINAL, lnF.apply(x), hooks, ctx);
        return new ModelOutput(x, virtual, mask);
    }

    /** The attention sublayer {@code x + c_proj(attn(ln_1 x))}; stores its keys and values in {@code cache} when given. */
    private Tensor attention(Block blk, int i, Tensor x, int[][] keyMask, Blocks.Packed packed, boolean first, KvCache cache, ForwardContext ctx) {
        long d = cfg.hidden();
        Tensor qkv = blk.cAttn().apply(blk.ln1().apply(x), hooks, ctx);
        Tensor q = Ops.narrow(qkv, 2, 0, d);
        Tensor k = Ops.narrow(qkv, 2, d, d);
        Tensor v = Ops.narrow(qkv, 2, 2 * d, d);
        Tensor[] kv = Blocks.keysValues(k, v, blk.prefixSite(), i, first, cache, hooks, ctx);
        k = kv[0];
        v = kv[1];
        Tensor a = Blocks.attention(q, k, v, cfg.heads(), keyMask, true, 0, packed);
        Tensor o = blk.attnProj().apply(a, hooks, ctx);
        o = Blocks.sublayer(blk.attnSite(), x, o, UnaryOperator.identity(), hooks, ctx);
        return Ops.add(x, o);
    }

    /** The MLP sublayer {@code x + c_proj(gelu(c_fc(ln_2 x)))}. */
    private Tensor mlp(Block blk, Tensor x, ForwardContext ctx) {
        Tensor m = blk.mlpProj().apply(Ops.gelu(blk.fc().apply(blk.ln2().apply(x), hooks, ctx), gelu), hooks, ctx);
        m = Blocks.sublayer(blk.ffnSite(), x, m, UnaryOperator.identity(), hooks, ctx);
        return Ops.add(x, m);
    }

    /** LM logits {@code [B, T, V]} through the head tied to the token embeddings. */
    @Override
    public Tensor lmLogits(Tensor hidden) {
        long b = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
        return Ops.reshape(Ops.matmul(Ops.reshape(hidden, b * t, d), wte, false, true), b, t, cfg.vocabSize());
    }
}
