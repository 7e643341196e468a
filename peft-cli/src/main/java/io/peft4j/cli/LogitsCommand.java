package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Logits (decoders: LM; BERT: masked-LM) and last hidden states for every computed position.")
final class LogitsCommand implements Runnable {
    @Option(names = "--model", required = true, description = "Model directory (config.json + weights) or known name.")
    String model;
    @Option(names = "--adapter", description = "An adapter directory (Hugging Face PEFT or AdapterHub layout); prompt adapters add their virtual positions.")
    String adapter;
    @Option(names = "--ids", required = true, description = "Token ids, comma-separated.")
    String ids;
    @Option(names = "--token-types", description = "Token type (segment) ids, comma-separated.")
    String tokenTypes;
    @Option(names = "--attention-mask", description = "Attention mask (1 = token, 0 = padding), comma-separated.")
    String attentionMask;
    @Option(names = "--json", description = "Print {\"logits\": [[...]], \"hidden\": [[...]]}.")
    boolean json;
    @Mixin
    Common.Verbosity verbosity;
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        int[] tok = Common.ints("--ids", ids);
        int[] types = Common.ints("--token-types", tokenTypes);
        int[] mask = Common.ints("--attention-mask", attentionMask);
        if (tok.length == 0) throw new PeftException("--ids: no token ids given");
        if (types != null && types.length != tok.length) throw new PeftException("--token-types: " + types.length + " values for " + tok.length + " ids");
        if (mask != null && mask.length != tok.length) throw new PeftException("--attention-mask: " + mask.length + " values for " + tok.length + " ids");
        TransformerModel m = Models.load(ModelHub.resolve(model), DataType.FLOAT);
        for (int id : tok) {
            if (id < 0 || id >= m.config().vocabSize()) throw new PeftException("--ids: token id " + id + " is outside the vocabulary (0.." + (m.config().vocabSize() - 1) + ")");
        }
        if (types != null) {
            for (int t : types) {
                if (t < 0 || t >= Math.max(1, m.config().typeVocabSize())) throw new PeftException("--token-types: type " + t + " is outside 0.." + (Math.max(1, m.config().typeVocabSize()) - 1));
            }
        }
        PeftModel peft = PeftModel.of(m);
        if (adapter != null) peft.load(Path.of(adapter), PeftModel.DEFAULT);
        Batch batch = new Batch(new int[][]{tok}, types == null ? null : new int[][]{types}, mask == null ? null : new int[][]{mask});
        INDArray[] r = Workspaces.run(() -> {
            ModelOutput out = peft.forward(batch, ForwardContext.inference(1));
            return new INDArray[]{m.lmLogits(out.hidden()).value().slice(0), out.hidden().value().slice(0)};
        });
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("logits", r[0].toDoubleMatrix());
        o.put("hidden", r[1].toDoubleMatrix());
        var out = spec.commandLine().getOut();
        if (json) out.println(Common.json(o));
        else {
            for (int i = 0; i < r[0].rows(); i++) {
                out.println(i + "\targmax " + r[0].getRow(i).argMax().getInt(0));
            }
        }
        out.flush();
    }
}
