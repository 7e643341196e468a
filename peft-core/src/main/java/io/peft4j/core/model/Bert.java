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

/**
 * BERT (Devlin et al. 2019) as Hugging Face's {@code BertForMaskedLM} computes it: post-LayerNorm blocks,
 * exact (erf) GELU, learned positions and token types, a padding mask, the tanh pooler over the first
 * token, and the masked-LM head whose output matrix is tied to the word embeddings.
 *
 * <pre>
 * x = LN(E_word[ids] + E_pos[pos] + E_type[types])
 * per layer:  h = O(attn(Q x, K x, V x)),  x = LN1(x + h),  f = W2 gelu(W1 x),  x = LN2(x + f)
 * pooled = tanh(W_p x[:, 0]);   mlm = LN_t(gelu(W_t x)) E_wordᵀ + b
 * </pre>
 * Reads Hugging Face safetensors ({@code bert.}-prefixed or bare) and Google/TensorFlow checkpoints
 * ({@code bert/...}, optionally {@code module/}-prefixed).
 */
public final class Bert extends FrozenTransformer {
    /**
     * BERT's declaration: config fields {@code hidden_size}, {@code num_hidden_layers}, {@code num_attention_heads},
     * {@code intermediate_size}, {@code max_position_embeddings}, {@code type_vocab_size}, {@code layer_norm_eps},
     * {@code hidden_act}, {@code pad_token_id}; an encoder; HF PEFT's defaults (LoRA {@code query}, {@code value};
     * IA3 {@code key}, {@code value}, {@code output.dense} with {@code output.dense} feed-forward); AdapterHub keeps a
     * bottleneck adapter in the sublayer's own module ({@code encoder.layer.<i>.attention.output} / {@code .output}).
     */
    public static final Architecture ARCHITECTURE = new Architecture("bert", false, "bert.", "embeddings.word_embeddings.weight",
            Map.of("LORA", List.of("query", "value"), "IA3", List.of("key", "value", "output.dense")), List.of("output.dense"), false,
            "BertAdapterModel", HookSite::name, Bert::readConfig, Bert::writeConfig,
            (cfg, ckpt, p) -> new Bert(cfg, Weights.of(ckpt, p), p.compute()));

    public static final String EMBEDDINGS = "embeddings";
    public static final String FINAL = "final";
    /** The {@link SiteKind#LAYER_OUTPUT} site of the embeddings' output. */
    public static final String EMBEDDINGS_OUTPUT = "embeddings.output";

    private record Layer(Linear query, Linear key, Linear value, Linear attnOut, Norm attnNorm,
                         Linear intermediate, Linear output, Norm outNorm,
                         String prefixSite, String attnSite, String ffnSite, String outputSite) {
    }

    private final Tensor wordEmb, posEmb, typeEmb;
    private final Norm embNorm;
    private final List<Layer> layers = new ArrayList<>();
    private final List<String> prefixSites = new ArrayList<>();
    private final Linear pooler;          // null for checkpoints without one
    private final Linear mlmTransform;    // null for checkpoints without the MLM head
    private final Norm mlmNorm;
    private final Tensor mlmBias;
    private final Ops.Gelu gelu;

    private Bert(ModelConfig cfg, Weights w, DataType type) {
        super(cfg, type);
        this.gelu = Ops.Gelu.forActivation(cfg.activation());      // ModelConfig admits GELUs only
        long d = cfg.hidden(), f = cfg.intermediate();
        wordEmb = w.get("embeddings.word_embeddings.weight", names("embeddings.word_embeddings.weight", Role.TABLE), cfg.vocabSize(), d);
        posEmb = w.get("embeddings.position_embeddings.weight", names("embeddings.position_embeddings.weight", Role.TABLE), cfg.maxPositions(), d);
        typeEmb = w.get("embeddings.token_type_embeddings.weight", names("embeddings.token_type_embeddings.weight", Role.TABLE), cfg.typeVocabSize(), d);
        embNorm = norm(w, "embeddings.LayerNorm", d);
        hooks.declare(new HookSite(EMBEDDINGS, SiteKind.EMBEDDINGS, -1, d, d));
        hooks.declare(new HookSite(EMBEDDINGS_OUTPUT, SiteKind.LAYER_OUTPUT, -1, d, d));
        for (int i = 0; i < cfg.layers(); i++) {
            String p = "encoder.layer." + i + ".";
            String prefixSite = p + "attention.self.prefix";
            hooks.declare(new HookSite(prefixSite, SiteKind.ATTENTION_PREFIX, i, d, d));
            prefixSites.add(prefixSite);
            Linear q = linear(w, p + "attention.self.query", i, d, d);
            Linear k = linear(w, p + "attention.self.key", i, d, d);
            Linear v = linear(w, p + "attention.self.value", i, d, d);
            Linear o = linear(w, p + "attention.output.dense", i, d, d);
            hooks.declare(new HookSite(p + "attention.output", SiteKind.ATTENTION_OUTPUT, i, d, d));
            Norm n1 = norm(w, p + "attention.output.LayerNorm", d);
            Linear inter = linear(w, p + "intermediate.dense", i, d, f);
            Linear out = linear(w, p + "output.dense", i, f, d);
            hooks.declare(new HookSite(p + "output", SiteKind.FFN_OUTPUT, i, d, d));
            Norm n2 = norm(w, p + "output.LayerNorm", d);
            hooks.declare(new HookSite("encoder.layer." + i, SiteKind.LAYER_OUTPUT, i, d, d));
            layers.add(new Layer(q, k, v, o, n1, inter, out, n2, prefixSite, p + "attention.output", p + "output", "encoder.layer." + i));
        }
        hooks.declare(new HookSite(FINAL, SiteKind.FINAL_HIDDEN, -1, d, d));
        pooler = w.has(names("pooler.dense.weight", Role.LINEAR)) ? linear(w, "pooler.dense", -1, d, d) : null;
        if (!w.shapesOnly() && w.has(names("cls.predictions.transform.dense.weight", Role.LINEAR))) {
            mlmTransform = linear(w, "cls.predictions.transform.dense", -1, d, d);
            mlmNorm = norm(w, "cls.predictions.transform.LayerNorm", d);
            mlmBias = w.get("cls.predictions.bias", names("cls.predictions.bias", Role.BIAS), cfg.vocabSize());
        } else {
            mlmTransform = null;
            mlmNorm = null;
            mlmBias = null;
        }
        seal(w);
    }

    /** Builds the model from a config and a checkpoint; weights become frozen constants of {@code type}. */
    public static Bert load(ModelConfig cfg, Checkpoint ckpt, DataType type) {
        if (cfg.architecture() != ARCHITECTURE) throw new PeftException("config: model_type '" + cfg.modelType() + "' is not bert");
        return new Bert(cfg, new Weights(ckpt, Precision.of(type)), type);
    }

    private static ModelConfig readConfig(com.fasterxml.jackson.databind.JsonNode json, String source) {
        ConfigJson c = new ConfigJson(json, source);
        return new ModelConfig("bert", c.integer("vocab_size", null, ConfigJson.MAX_VOCAB), c.integer("hidden_size", null, ConfigJson.MAX_HIDDEN),
                c.integer("num_hidden_layers", null, ConfigJson.MAX_LAYERS), c.integer("num_attention_heads", null, ConfigJson.MAX_HIDDEN),
                c.integer("intermediate_size", null, ConfigJson.MAX_INTERMEDIATE), c.integer("max_position_embeddings", null, ConfigJson.MAX_POSITIONS),
                c.integer("type_vocab_size", 2, ConfigJson.MAX_TOKEN_TYPES), c.number("layer_norm_eps", 1e-12),
                Blocks.geluActivation(c, "hidden_act", "gelu"), c.tokenId("pad_token_id", 0), -1);
    }

    private static Map<String, Object> writeConfig(ModelConfig cfg) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("model_type", cfg.modelType());
        m.put("vocab_size", cfg.vocabSize());
        m.put("hidden_size", cfg.hidden());
        m.put("num_hidden_layers", cfg.layers());
        m.put("num_attention_heads", cfg.heads());
        m.put("intermediate_size", cfg.intermediate());
        m.put("max_position_embeddings", cfg.maxPositions());
        m.put("type_vocab_size", cfg.typeVocabSize());
        m.put("layer_norm_eps", cfg.layerNormEps());
        m.put("hidden_act", cfg.activation());
        m.put("pad_token_id", cfg.padTokenId());
        return m;
    }

    private enum Role { LINEAR, LINEAR_BIAS, NORM_WEIGHT, NORM_BIAS, TABLE, BIAS }

    /** Every name a checkpoint may store the canonical weight under. */
    private static List<Candidate> names(String canonical, Role role) {
        boolean head = canonical.startsWith("cls.");
        List<Candidate> c = new ArrayList<>();
        boolean transposed = role == Role.LINEAR;
        for (String pre : head ? List.of("") : List.of("bert.", "")) c.add(new Candidate(pre + canonical, transposed));
        if (role == Role.NORM_WEIGHT || role == Role.NORM_BIAS) {
            String legacy = canonical.replaceAll("\\.weight$", ".gamma").replaceAll("\\.bias$", ".beta");
            for (String pre : head ? List.of("") : List.of("bert.", "")) c.add(new Candidate(pre + legacy, false));
        }
        String tf = canonical.replaceAll("layer\\.(\\d+)", "layer_$1");
        tf = switch (role) {
            case LINEAR -> tf.replaceAll("\\.weight$", ".kernel");
            case NORM_WEIGHT -> tf.replaceAll("\\.weight$", ".gamma");
            case NORM_BIAS -> tf.replaceAll("\\.bias$", ".beta");
            case TABLE -> tf.replaceAll("\\.weight$", "");
            case BIAS -> tf.equals("cls.predictions.bias") ? "cls.predictions.output_bias" : tf;
            default -> tf;
        };
        tf = tf.replace('.', '/');
        if (!head) tf = "bert/" + tf;
        c.add(new Candidate(tf, false));
        c.add(new Candidate("module/" + tf, false));
        return c;
    }

    private Linear linear(Weights w, String name, int layer, long in, long out) {
        Tensor weight = w.get(name + ".weight", names(name + ".weight", Role.LINEAR), in, out);
        Tensor bias = w.get(name + ".bias", names(name + ".bias", Role.LINEAR_BIAS), out);
        if (layer >= 0) hooks.declare(new HookSite(name, SiteKind.LINEAR, layer, in, out));
        return new Linear(name, weight, bias);
    }

    private Norm norm(Weights w, String name, long d) {
        Tensor g = w.get(name + ".weight", names(name + ".weight", Role.NORM_WEIGHT), d);
        Tensor b = w.get(name + ".bias", names(name + ".bias", Role.NORM_BIAS), d);
        return new Norm(g, b, cfg.layerNormEps());
    }

    public boolean hasMlmHead() {
        return mlmTransform != null;
    }

    @Override
    public ModelOutput forward(Batch batch, ForwardContext ctx) {
        if (batch.packed() || batch.positions() != null) {
            throw new IllegalArgumentException("packed rows (segments, positions) are for decoders; BERT takes one sequence per row");
        }
        int b = batch.size(), t = batch.length();
        long d = cfg.hidden();
        Leading lead = new Leading(b, hooks, prefixSites, ctx);
        Tensor e = lead.embed(Ops.reshape(Ops.embedding(wordEmb, batch.flatIds()), b, t, d), hooks, EMBEDDINGS, ctx);
        int total = (int) e.size(1), virtual = total - t;
        int[] positions = lead.positions(t);
        int needed = Blocks.positionsNeeded(positions);
        if (needed > cfg.maxPositions()) {
            throw new PeftException("input of " + needed + " positions is longer than the model's " + cfg.maxPositions() + " (max_position_embeddings)");
        }
        int[] types = new int[b * total];
        if (batch.tokenTypes() != null) {
            for (int r = 0; r < b; r++) System.arraycopy(batch.tokenTypes()[r], 0, types, r * total + virtual, t);
        }
        Tensor pos = Ops.reshape(Ops.embedding(posEmb, positions), b, total, d);
        Tensor typ = Ops.reshape(Ops.embedding(typeEmb, types), b, total, d);
        Tensor x = Blocks.hidden(EMBEDDINGS_OUTPUT, embNorm.apply(Ops.add(Ops.add(e, pos), typ)), hooks, ctx);
        int[][] mask = lead.outputMask(batch.attentionMask(), t);
        int[][] keyMask = lead.keyMask(mask);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int layer = i;
            Tensor in = x;
            Tensor mid = Workspaces.block(() -> attention(l, layer, in, keyMask, ctx));
            x = Blocks.hidden(l.outputSite(), Workspaces.block(() -> feedForward(l, mid, ctx)), hooks, ctx);
        }
        x = Blocks.hidden(FINAL, x, hooks, ctx);
        return new ModelOutput(x, virtual, mask);
    }

    /** The attention sublayer: {@code LN1(x + O·attn(Q x, K x, V x))}. */
    private Tensor attention(Layer l, int i, Tensor x, int[][] keyMask, ForwardContext ctx) {
        Tensor q = l.query().apply(x, hooks, ctx);
        Tensor k = l.key().apply(x, hooks, ctx);
        Tensor v = l.value().apply(x, hooks, ctx);
        Tensor[] kv = Leading.withPrefix(k, v, l.prefixSite(), i, hooks, ctx);
        Tensor a = Blocks.attention(q, kv[0], kv[1], cfg.heads(), keyMask, false);
        Tensor h = l.attnOut().apply(a, hooks, ctx);
        h = Blocks.sublayer(l.attnSite(), x, h, l.attnNorm(), hooks, ctx);
        return l.attnNorm().apply(Ops.add(x, h));
    }

    /** The feed-forward sublayer: {@code LN2(x + W2 gelu(W1 x))}. */
    private Tensor feedForward(Layer l, Tensor x, ForwardContext ctx) {
        Tensor ff = l.output().apply(Ops.gelu(l.intermediate().apply(x, hooks, ctx), gelu), hooks, ctx);
        ff = Blocks.sublayer(l.ffnSite(), x, ff, l.outNorm(), hooks, ctx);
        return l.outNorm().apply(Ops.add(x, ff));
    }

    /** The pooler: {@code tanh(W_p · hidden[:, 0] + b)}, shape {@code [B, D]}. */
    public Tensor pool(Tensor hidden) {
        if (pooler == null) throw new PeftException("this BERT checkpoint has no pooler weights (pooler.dense)");
        long b = hidden.size(0), d = hidden.size(2);
        Tensor first = Ops.reshape(Ops.narrow(hidden, 1, 0, 1), b, d);
        return Ops.tanh(Ops.linear(first, pooler.weight(), pooler.bias()));
    }

    /** Masked-LM logits {@code [B, T, V]}. */
    @Override
    public Tensor lmLogits(Tensor hidden) {
        if (mlmTransform == null) throw new PeftException("this BERT checkpoint has no masked-LM head (cls.predictions.*)");
        long b = hidden.size(0), t = hidden.size(1), d = hidden.size(2);
        Tensor h = mlmNorm.apply(Ops.gelu(Ops.linear(hidden, mlmTransform.weight(), mlmTransform.bias()), gelu));
        Tensor logits = Ops.matmul(Ops.reshape(h, b * t, d), wordEmb, false, true);
        return Ops.reshape(Ops.add(logits, mlmBias), b, t, cfg.vocabSize());
    }
}
