package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.hooks.EmbeddingHook;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Tensor;

import java.util.function.Function;

/**
 * What the prompt-learning methods (prompt tuning, P-tuning, prefix tuning) share: the base-model fields
 * Hugging Face writes into their configs, the check that a loaded adapter fits this base, and the embedding
 * hook that prepends a prompt to the rows an adapter applies to.
 */
public final class PromptLearning {
    private PromptLearning() {
    }

    /** Writes {@code peft_type}, {@code task_type}, {@code num_virtual_tokens} and the base's shape fields. */
    public static ObjectNode json(String peftType, String taskType, int numVirtualTokens, PeftConfig.BaseInfo base) {
        ObjectNode n = io.peft4j.core.io.Json.MAPPER.createObjectNode();
        n.put("peft_type", peftType);
        n.put("task_type", base.taskType(taskType));
        n.put("base_model_name_or_path", base.nameOrPath());
        n.put("num_virtual_tokens", numVirtualTokens);
        n.put("token_dim", base.hidden());
        n.put("num_transformer_submodules", 1);
        n.put("num_attention_heads", base.heads());
        n.put("num_layers", base.layers());
        n.put("inference_mode", true);
        return n;
    }

    /** The base-model fields a prompt-learning config recorded (null where it did not). */
    public record RecordedBase(Long tokenDim, Integer heads, Integer layers, Integer submodules) {
        public static final RecordedBase NONE = new RecordedBase(null, null, null, null);

        public static RecordedBase read(ConfigFields f) {
            Integer tokenDim = f.optionalPositiveInt("token_dim");
            return new RecordedBase(tokenDim == null ? null : tokenDim.longValue(), f.optionalPositiveInt("num_attention_heads"),
                    f.optionalPositiveInt("num_layers"), f.optionalPositiveInt("num_transformer_submodules"));
        }

        /** Fails, naming the field, when this base differs from the recorded one (prompt tuning, P-tuning: the hidden width). */
        public void check(TransformerModel model) {
            check(model, model.config().hidden(), model.config().heads(), "hidden size");
        }

        /**
         * As {@link #check}, for an adapter sized by the key/value heads (prefix tuning: HF PEFT records
         * {@code token_dim} = key/value heads x head width and {@code num_attention_heads} = key/value heads, which
         * for multi-head attention are the hidden size and the heads).
         */
        public void checkKeyValues(TransformerModel model) {
            var c = model.config();
            check(model, c.keyValueWidth(), c.keyValueHeads(), c.keyValueWidth() == c.hidden() ? "hidden size" : "key/value width");
        }

        private void check(TransformerModel model, long width, int headCount, String what) {
            var c = model.config();
            if (submodules != null && submodules != 1) {
                throw new IllegalArgumentException("field 'num_transformer_submodules' is " + submodules + ": encoder-decoder adapters do not fit this "
                        + c.modelType() + " base");
            }
            if (tokenDim != null && tokenDim != width) {
                throw new IllegalArgumentException("field 'token_dim' is " + tokenDim + " but this base model has " + what + " " + width
                        + ": the adapter was made for another base");
            }
            if (layers != null && layers != c.layers()) {
                throw new IllegalArgumentException("field 'num_layers' is " + layers + " but this base model has " + c.layers()
                        + " layers: the adapter was made for another base");
            }
            if (heads != null && heads != headCount) {
                throw new IllegalArgumentException("field 'num_attention_heads' is " + heads + " but this base model has " + headCount
                        + (headCount == c.heads() ? " heads" : " key/value heads") + ": the adapter was made for another base");
            }
        }
    }

    /**
     * The embedding hook of a prompt adapter: prepends {@code prompt.apply(ctx)} ({@code [n, d]}) when any row of
     * the pass uses {@code adapter}; the rows that do not are flagged, so the model masks those positions out
     * for them.
     */
    public static EmbeddingHook prepending(Adapter adapter, Function<ForwardContext, Tensor> prompt) {
        return new EmbeddingHook() {
            @Override
            public Tensor apply(Tensor e, ForwardContext ctx) {
                return adapter.rows(ctx).none() ? e : EmbeddingHook.prepend(prompt.apply(ctx), e);
            }

            @Override
            public boolean[] appliesTo(ForwardContext ctx) {
                return adapter.rows(ctx).flags();
            }

            @Override
            public Tensor virtualTokens(ForwardContext ctx) {
                return prompt.apply(ctx);
            }
        };
    }
}
