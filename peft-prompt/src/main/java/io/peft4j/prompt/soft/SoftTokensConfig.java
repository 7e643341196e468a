package io.peft4j.prompt.soft;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.Json;
import io.peft4j.core.peft.PeftConfig;

import java.util.List;

/**
 * A template's trainable soft tokens ({@code {soft}}, {@code {soft:WORDS}}) as an adapter: one embedding row per
 * soft token, which replaces the word embedding at the positions the template puts it (see
 * {@link SoftTokenSlots}). Saved as {@code adapter_config.json} with {@code peft_type} {@value #PEFT_TYPE} (peft4j's
 * own: Hugging Face PEFT has no such type) and {@code soft_embeddings} {@code [n, d]}.
 *
 * @param initTokenIds per soft token, the vocabulary id whose embedding it starts from, or -1 for N(0, 1) (as
 *                     OpenPrompt's {@code nn.Embedding})
 * @param tokenDim     the hidden size a saved config recorded (checked against the base), or null
 */
public record SoftTokensConfig(List<Integer> initTokenIds, Integer tokenDim) implements PeftConfig {
    public static final String PEFT_TYPE = "SOFT_TOKENS";

    public SoftTokensConfig {
        initTokenIds = List.copyOf(initTokenIds);
        if (initTokenIds.isEmpty()) throw new IllegalArgumentException("num_soft_tokens must be positive");
        for (int id : initTokenIds) {
            if (id < -1) throw new IllegalArgumentException("init_token_ids must be token ids or -1 (random), not " + id);
        }
    }

    /** Soft tokens starting from these token ids (-1: random). */
    public static SoftTokensConfig of(int... initTokenIds) {
        return new SoftTokensConfig(java.util.Arrays.stream(initTokenIds).boxed().toList(), null);
    }

    /** The number of soft tokens. */
    public int count() {
        return initTokenIds.size();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public ObjectNode toJson(BaseInfo base) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("peft_type", PEFT_TYPE);
        n.put("base_model_name_or_path", base.nameOrPath());
        n.put("num_soft_tokens", count());
        n.put("token_dim", base.hidden());
        ArrayNode ids = n.putArray("init_token_ids");
        initTokenIds.forEach(ids::add);
        return n;
    }
}
