package io.peft4j.benchmarks;

import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.Precision;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Profiler;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What keeping a Llama's weight matrices in BF16 or F16 (FP32 compute, {@link Precision#storedAs}) saves and costs,
 * on a synthetic Llama with random weights (default: d 768, 6 layers, 12 query and 4 key/value heads of 64, SwiGLU
 * 2048, vocabulary 32,000, untied head: 87M parameters): the weights' bytes, a forward pass of 4 x 128 tokens, a
 * LoRA training step (r 8 on q_proj, v_proj) on the same batch, greedy decoding through the key/value cache, and
 * how far the narrow models' logits are from the FP32 model's. Medians of {@code reps} runs after one warm-up.
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar:benchmarks/target/lib/* io.peft4j.benchmarks.LlamaPrecisionBenchmark [reps] [d] [layers]
 * }</pre>
 */
public final class LlamaPrecisionBenchmark {
    private LlamaPrecisionBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int d = args.length > 1 ? Integer.parseInt(args[1]) : 768, layers = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        Path dir = synthetic(Files.createTempDirectory("llama-bench"), d, layers);
        Random r = new Random(1);
        int[][] ids = new int[4][128];
        for (int[] row : ids) for (int i = 0; i < row.length; i++) row[i] = 3 + r.nextInt(31_990);
        Batch batch = Batch.of(ids);
        INDArray reference = null;
        System.out.printf("synthetic Llama: d %d, %d layers, heads 12/4 of %d, SwiGLU %d, vocabulary 32000; batch 4 x 128; %d reps%n",
                d, layers, d / 12, ffn(d), reps);
        System.out.printf("%-9s %10s %11s %10s %12s %13s %14s %13s%n", "weights", "weight MB", "forward ms", "(widen ms", "products ms)",
                "LoRA step ms", "decode ms/tok", "max |dlogit|");
        for (DataType storage : List.of(DataType.FLOAT, DataType.BFLOAT16, DataType.HALF)) {
            TransformerModel m = Models.load(dir, storage == DataType.FLOAT ? Precision.of(DataType.FLOAT) : Precision.storedAs(storage));
            long bytes = m.parameters().values().stream().mapToLong(t -> t.value().length() * t.value().data().getElementSize()).sum();
            INDArray logits = Workspaces.run(() -> new INDArray[]{m.lmLogits(m.forward(batch, ForwardContext.inference(4)).hidden()).value()})[0];
            double diff = reference == null ? 0 : logits.sub(reference).amaxNumber().doubleValue();
            if (reference == null) reference = logits;
            double forward = median(reps, () -> Workspaces.run(() -> new INDArray[]{m.forward(batch, ForwardContext.inference(4)).hidden().value()}));
            Profiler.reset();
            Profiler.enable(true);
            Workspaces.run(() -> new INDArray[]{m.forward(batch, ForwardContext.inference(4)).hidden().value()});
            Profiler.enable(false);
            double widen = Profiler.opTotals().getOrDefault("widen (elementwise)", 0L) / 1e6;
            double products = Profiler.totals().getOrDefault(Profiler.Kind.MATMUL, 0L) / 1e6;
            PeftModel p = PeftModel.of(m);
            p.add("default", LoraConfig.defaults().withR(8).withAlpha(16), 1);
            double step = median(reps, () -> Workspaces.run(() -> {
                Tensor out = p.forward(batch, new ForwardContext(4, null, true, 0)).hidden();
                Ops.sum(Ops.narrow(out, 1, 127, 1)).backward();
                return new INDArray[0];
            }));
            p.remove("default");
            int[] prompt = Arrays.copyOf(ids[0], 16);
            double decode = median(reps, () -> Generator.generate((Decoder) m, prompt, 16, 0, 0, -1)) / 16;
            System.out.printf("%-9s %10.1f %11.1f %10.1f %12.1f %13.1f %14.2f %13.4g%n", storage, bytes / 1e6, forward, widen, products, step, decode, diff);
        }
    }

    private static int ffn(int d) {
        return d * 8 / 3 / 64 * 64;
    }

    private static double median(int reps, Runnable run) {
        run.run();                                               // warm-up
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            run.run();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }

    /** A Llama checkpoint with N(0, 0.02²) matrices and unit norms, in {@code dir}. */
    private static Path synthetic(Path dir, int d, int layers) {
        int heads = 12, kv = 4, dh = d / heads, f = ffn(d), vocab = 32_000;
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "llama");
        cfg.put("vocab_size", vocab);
        cfg.put("hidden_size", d);
        cfg.put("intermediate_size", f);
        cfg.put("num_hidden_layers", layers);
        cfg.put("num_attention_heads", heads);
        cfg.put("num_key_value_heads", kv);
        cfg.put("head_dim", dh);
        cfg.put("max_position_embeddings", 2048);
        cfg.put("rms_norm_eps", 1e-5);
        cfg.put("tie_word_embeddings", false);
        Json.write(dir.resolve("config.json"), cfg);
        Map<String, INDArray> w = new LinkedHashMap<>();
        Nd4j.getRandom().setSeed(7);
        w.put("model.embed_tokens.weight", Nd4j.randn(DataType.FLOAT, vocab, d).muli(0.02));
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            w.put(p + "input_layernorm.weight", Nd4j.ones(DataType.FLOAT, d));
            w.put(p + "self_attn.q_proj.weight", Nd4j.randn(DataType.FLOAT, heads * dh, d).muli(0.02));
            w.put(p + "self_attn.k_proj.weight", Nd4j.randn(DataType.FLOAT, kv * dh, d).muli(0.02));
            w.put(p + "self_attn.v_proj.weight", Nd4j.randn(DataType.FLOAT, kv * dh, d).muli(0.02));
            w.put(p + "self_attn.o_proj.weight", Nd4j.randn(DataType.FLOAT, d, heads * dh).muli(0.02));
            w.put(p + "post_attention_layernorm.weight", Nd4j.ones(DataType.FLOAT, d));
            w.put(p + "mlp.gate_proj.weight", Nd4j.randn(DataType.FLOAT, f, d).muli(0.02));
            w.put(p + "mlp.up_proj.weight", Nd4j.randn(DataType.FLOAT, f, d).muli(0.02));
            w.put(p + "mlp.down_proj.weight", Nd4j.randn(DataType.FLOAT, d, f).muli(0.02));
        }
        w.put("model.norm.weight", Nd4j.ones(DataType.FLOAT, d));
        w.put("lm_head.weight", Nd4j.randn(DataType.FLOAT, vocab, d).muli(0.02));
        SafeTensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        return dir;
    }
}
