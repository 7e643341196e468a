package io.peft4j.core.infer;

import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.KvCache;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.Random;

/**
 * Autoregressive generation with a {@link Decoder}'s key/value cache (GPT-2, the Llama family): the prompt is run
 * once, then one token per step. Temperature 0 is greedy; otherwise tokens are sampled from {@code softmax(logits / T)} with a
 * seeded generator, so a seed reproduces a run.
 */
public final class Generator {
    private Generator() {
    }

    /** Returns only the new token ids (stops early at {@code eosId} if it is not negative). */
    public static int[] generate(Decoder model, int[] prompt, int maxNewTokens, double temperature, long seed, int eosId) {
        return generate(model, prompt, maxNewTokens, temperature, seed, eosId < 0 ? new int[0] : new int[]{eosId});
    }

    /**
     * Returns only the new token ids, stopping after the first that is one of {@code stopIds} (which it includes), as
     * Hugging Face's {@code generate} stops at any id of a list-valued {@code eos_token_id} (Llama 3's end of text and
     * end of turn): {@link io.peft4j.core.model.Models#eosTokenIds} reads them from a model directory.
     */
    public static int[] generate(Decoder model, int[] prompt, int maxNewTokens, double temperature, long seed, int[] stopIds) {
        return generate(model, prompt, maxNewTokens, temperature, seed, stopIds, null, null);
    }

    /**
     * {@link #generate(Decoder, int[], int, double, long, int[])} with every pass's row tagged {@code rowTag} (the adapter
     * to apply, see {@link ForwardContext}; null: no tag, every active adapter applies) and {@code stopAfter} (null: none)
     * asked after each new token, given the new ids so far: true ends the generation there (a stop string was written).
     */
    public static int[] generate(Decoder model, int[] prompt, int maxNewTokens, double temperature, long seed, int[] stopIds, String rowTag,
                                 java.util.function.Predicate<int[]> stopAfter) {
        ForwardContext ctx = new ForwardContext(1, rowTag == null ? null : java.util.List.of(rowTag), false, 0);
        int[] stops = stopIds.clone();
        Arrays.sort(stops);
        if (prompt.length == 0) throw new PeftException("generate needs a non-empty prompt");
        if (maxNewTokens < 0) throw new PeftException("--max-new-tokens must be >= 0");
        if (temperature < 0 || Double.isNaN(temperature)) throw new PeftException("--temperature must be >= 0");
        int room = model.config().maxPositions() - prompt.length;
        if (room < 0) throw new PeftException("prompt of " + prompt.length + " tokens is longer than the model's " + model.config().maxPositions() + " positions");
        int steps = Math.min(maxNewTokens, room);
        KvCache cache = new KvCache(model.config().layers());
        Random rng = new Random(seed);
        int[] out = new int[steps];
        int n = 0;
        int[] next = prompt;
        for (int s = 0; s < steps; s++) {
            int[] feed = next;
            INDArray logits = Workspaces.run(() -> {
                ModelOutput o = model.forward(Batch.of(feed), ctx, cache);
                long t = o.hidden().size(1);
                return new INDArray[]{model.lmLogits(Ops.narrow(o.hidden(), 1, t - 1, 1)).value().reshape(-1)};
            })[0];
            int tok = pick(logits.toDoubleVector(), temperature, rng);
            out[n++] = tok;
            if (Arrays.binarySearch(stops, tok) >= 0) break;
            if (stopAfter != null && stopAfter.test(Arrays.copyOf(out, n))) break;
            next = new int[]{tok};
        }
        return Arrays.copyOf(out, n);
    }

    static int pick(double[] logits, double temperature, Random rng) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        if (temperature == 0) return best;
        double max = logits[best], sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u <= 0) return i;
        }
        return p.length - 1;
    }
}
