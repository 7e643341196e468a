package io.peft4j.instruct.hyper;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.LinearHook;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.ModelConfig;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.ConfigFields;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftMethod;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.peft.TargetModules;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.instruct.encoding.InstructionBatch;
import io.peft4j.instruct.encoding.InstructionEncoding;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Installs a {@link HyperLoraConfig LoRA hypernetwork} on the target linear sites and reads and writes its files
 * ({@code adapter_config.json} with {@code peft_type HYPER_LORA}; weights {@code hypernetwork.instruction.weight/bias}
 * {@code [k, d]}, {@code hypernetwork.site_embeddings} {@code [S, k]}, and per target shape
 * {@code hypernetwork.lora_A.<in>x<out>.weight/bias} {@code [r·in, k]} and {@code hypernetwork.lora_B.<in>x<out>.weight/bias}
 * {@code [out·r, k]}).
 */
public final class HyperLoraMethod implements PeftMethod {
    @Override
    public String peftType() {
        return HyperLoraConfig.PEFT_TYPE;
    }

    @Override
    public Class<? extends PeftConfig> configType() {
        return HyperLoraConfig.class;
    }

    @Override
    public PeftConfig readConfig(JsonNode json, Path file) {
        ConfigFields f = new ConfigFields(json, file);
        return new HyperLoraConfig(f.positiveInt("r", 8), f.number("lora_alpha", 8, 1e-12, Double.MAX_VALUE), f.strings("target_modules"),
                f.positiveInt("hyper_hidden_size", null));
    }

    @Override
    public Adapter create(TransformerModel model, PeftConfig config, String name, long seed) {
        return new HyperLora(model, (HyperLoraConfig) config, name, seed);
    }

    /**
     * The hypernetwork and the LoRA layers it feeds. {@link #generate} gives the LoRA weights an instruction gets;
     * {@link #exportLora} writes them as an ordinary LoRA adapter.
     */
    public static final class HyperLora extends Adapter {
        private final HyperLoraConfig cfg;
        private final List<HookSite> sites;
        private final Tensor we, be, siteEmb;
        private final Map<String, Tensor[]> heads = new LinkedHashMap<>();   // "<in>x<out>" -> {aW, aB, bW, bB}

        HyperLora(TransformerModel model, HyperLoraConfig cfg, String name, long seed) {
            super(name, cfg, model);
            this.cfg = cfg;
            sites = TargetModules.select(model, cfg.targetsFor(model.architecture()), null);
            long d = model.config().hidden(), k = cfg.hiddenSize(), r = cfg.r();
            var type = model.dataType();
            we = parameter("hypernetwork.instruction.weight", Init.kaimingUniform(seed(seed, 0), d, type, k, d));
            be = parameter("hypernetwork.instruction.bias", Init.uniform(seed(seed, 1), 1.0 / Math.sqrt(d), type, k));
            siteEmb = parameter("hypernetwork.site_embeddings", Init.normal(seed(seed, 2), 0.02, type, sites.size(), k));
            int i = 3;
            for (HookSite s : sites) {
                String shape = shape(s);
                if (heads.containsKey(shape)) continue;
                // A's instruction-free part b_A starts as LoRA's A (Kaiming-uniform, bound 1/sqrt(in)), its instruction part
                // with the same spread over k inputs; B's head starts at zero, so the generated B is 0: the base model
                Tensor aW = parameter("hypernetwork.lora_A." + shape + ".weight", Init.uniform(seed(seed, i++), 1.0 / Math.sqrt((double) s.in() * k), type, r * s.in(), k));
                Tensor aB = parameter("hypernetwork.lora_A." + shape + ".bias", Init.kaimingUniform(seed(seed, i++), s.in(), type, r * s.in()));
                Tensor bW = parameter("hypernetwork.lora_B." + shape + ".weight", Init.zeros(type, s.out() * r, k));
                Tensor bB = parameter("hypernetwork.lora_B." + shape + ".bias", Init.zeros(type, s.out() * r));
                heads.put(shape, new Tensor[]{aW, aB, bW, bB});
            }
            for (int j = 0; j < sites.size(); j++) installUnowned(sites.get(j).name(), new Layer(j));
        }

        private static String shape(HookSite s) {
            return s.in() + "x" + s.out();
        }

        /** The target sites, in the order of the site embeddings. */
        public List<HookSite> sites() {
            return sites;
        }

        /** {@code {A_s [U, r·in], B_s [U, out·r]}} for the instruction embeddings {@code e [U, d]} at site index {@code j}. */
        private Tensor[] generate(int j, Tensor e) {
            HookSite s = sites.get(j);
            Tensor z = Ops.tanh(Ops.add(Ops.linearT(e, we, be), Ops.narrow(siteEmb, 0, j, 1)));
            Tensor[] h = heads.get(shape(s));
            return new Tensor[]{Ops.linearT(z, h[0], h[1]), Ops.linearT(z, h[2], h[3])};
        }

        /**
         * The LoRA weights instruction {@code e} gets, by site name: {@code {A [r, in], B [out, r]}} as Hugging Face PEFT
         * stores {@code lora_A} and {@code lora_B}.
         */
        public Map<String, INDArray[]> generate(InstructionEncoding e) {
            Tensor emb = Tensor.constant(e.mean().castTo(model.dataType()).reshape(1, e.dim()));
            Map<String, INDArray[]> out = new LinkedHashMap<>();
            for (int j = 0; j < sites.size(); j++) {
                HookSite s = sites.get(j);
                Tensor[] ab = generate(j, emb);
                out.put(s.name(), new INDArray[]{ab[0].value().reshape('c', cfg.r(), s.in()).dup(), ab[1].value().reshape('c', s.out(), cfg.r()).dup()});
            }
            return out;
        }

        /**
         * Writes the LoRA adapter instruction {@code e} gets as an adapter directory in Hugging Face PEFT's layout
         * ({@code adapter_config.json} of {@code peft_type LORA} with this r, alpha and targets, {@code adapter_model.safetensors}),
         * which {@link PeftModel#load} and Hugging Face PEFT read; {@code baseName} is recorded as
         * {@code base_model_name_or_path}. The directory is replaced whole or not at all.
         */
        public void exportLora(InstructionEncoding e, String baseName, Path dir) {
            Map<String, INDArray[]> w = generate(e);
            ModelConfig c = model.config();
            var info = PeftConfig.BaseInfo.of(c, baseName);
            LoraConfig lora = LoraConfig.defaults().withR(cfg.r()).withAlpha(cfg.alpha())
                    .withTargetModules(cfg.targetsFor(c.architecture()).toArray(String[]::new));
            Map<String, INDArray> tensors = new LinkedHashMap<>();
            String prefix = "base_model.model." + model.modulePrefix();
            w.forEach((site, ab) -> {
                tensors.put(prefix + site + ".lora_A.weight", ab[0]);
                tensors.put(prefix + site + ".lora_B.weight", ab[1]);
            });
            AtomicFiles.writeDirectory(dir, tmp -> {
                Json.write(tmp.resolve(PeftModel.CONFIG_FILE), lora.toJson(info));
                SafeTensors.write(tmp.resolve(PeftModel.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
            });
        }

        /** LoRA at site {@code j} with the A and B the hypernetwork generates for each row's instruction. */
        private final class Layer implements LinearHook {
            private final int j;

            Layer(int j) {
                this.j = j;
            }

            @Override
            public Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
                InstructionBatch b = ctx.attachment(InstructionBatch.class);
                if (b == null || !b.any()) return y;
                int rows = b.rows().length;
                if (rows != ctx.batchSize()) throw new IllegalStateException("an InstructionBatch of " + rows + " rows for a pass of " + ctx.batchSize());
                HookSite s = sites.get(j);
                long in = s.in(), out = s.out(), r = cfg.r();
                Tensor[] ab = generate(j, Tensor.constant(b.means().castTo(model.dataType())));
                int[] idx = b.gatherIndex();
                Tensor a = Ops.reshape(Ops.embedding(ab[0], idx), rows, r, in);      // [B, r, in]
                Tensor bm = Ops.reshape(Ops.embedding(ab[1], idx), rows, out, r);    // [B, out, r]
                Tensor x3 = Ops.reshape(x, rows, x.value().length() / (rows * in), in);
                Tensor delta = Ops.matmul(Ops.scale(Ops.matmul(x3, a, false, true), cfg.scaling()), bm, false, true);   // [B, T, out]
                boolean[] flags = b.flags();
                if (flags != null) {
                    double[] m = new double[rows];
                    for (int i = 0; i < rows; i++) m[i] = flags[i] ? 1 : 0;
                    delta = Ops.mul(delta, Tensor.constant(Nd4j.create(m, new long[]{rows, 1, 1}, 'c').castTo(delta.dataType())));
                }
                return Ops.add(y, Ops.reshape(delta, y.shape()));
            }
        }
    }
}
