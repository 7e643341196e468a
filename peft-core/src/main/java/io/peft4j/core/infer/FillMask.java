package io.peft4j.core.infer;

import io.peft4j.core.PeftException;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/** Masked-token prediction with a masked-LM (BERT): the top-k vocabulary entries for each text's first mask. */
public final class FillMask {
    /** One candidate for the mask: its token, id and softmax probability over the vocabulary. */
    public record Prediction(String token, int id, double score) {
    }

    private FillMask() {
    }

    public static List<List<Prediction>> predict(TransformerModel model, Tokenizer tok, List<String> texts, int topK) {
        return predict(model, tok, texts, topK, null);
    }

    /**
     * {@link #predict(TransformerModel, Tokenizer, List, int)} in one pass whose rows carry {@code rowTags} (one per
     * text: the adapter each row uses, see {@link ForwardContext}; null: no tags, every active adapter applies), so that
     * one batch serves texts for different adapters.
     */
    public static List<List<Prediction>> predict(TransformerModel model, Tokenizer tok, List<String> texts, int topK, List<String> rowTags) {
        if (rowTags != null && rowTags.size() != texts.size()) throw new IllegalArgumentException(rowTags.size() + " row tags for " + texts.size() + " texts");
        int maskId = tok.maskId();
        if (maskId < 0) throw new PeftException("fill-mask needs a tokenizer with a mask token ([MASK])");
        if (topK < 1) throw new PeftException("--top-k must be at least 1, got " + topK);
        List<Encoding> enc = tok.encodeBatch(texts, model.config().maxPositions());
        int b = enc.size(), t = enc.get(0).length();
        int[][] ids = new int[b][], types = new int[b][], mask = new int[b][];
        int[] maskAt = new int[b];
        for (int i = 0; i < b; i++) {
            Encoding e = enc.get(i);
            ids[i] = e.ids();
            types[i] = e.typeIds();
            mask[i] = e.attentionMask();
            maskAt[i] = -1;
            for (int j = 0; j < t && maskAt[i] < 0; j++) if (ids[i][j] == maskId) maskAt[i] = j;
            if (maskAt[i] < 0) throw new PeftException("input " + (i + 1) + " has no [MASK] token: \"" + texts.get(i) + "\"");
        }
        INDArray probs = Workspaces.run(() -> {
            ModelOutput out = model.forward(new Batch(ids, types, mask), new ForwardContext(b, rowTags, false, 0));
            long d = model.config().hidden();
            Tensor[] rows = new Tensor[b];
            for (int i = 0; i < b; i++) {
                rows[i] = Ops.reshape(Ops.narrow(Ops.narrow(out.hidden(), 0, i, 1), 1, out.virtualTokens() + maskAt[i], 1), 1, 1, d);
            }
            INDArray logits = model.lmLogits(Ops.concat(0, rows)).value().reshape(b, model.config().vocabSize());
            INDArray p = logits.ulike();
            Nd4j.exec((CustomOp) new SoftMax(logits, p, -1));
            return new INDArray[]{p};
        })[0];
        List<List<Prediction>> result = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            double[] row = probs.getRow(i).toDoubleVector();
            result.add(topK(row, topK, tok));
        }
        return result;
    }

    private static List<Prediction> topK(double[] p, int k, Tokenizer tok) {
        Integer[] idx = new Integer[p.length];
        for (int i = 0; i < p.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, c) -> Double.compare(p[c], p[a]));
        List<Prediction> out = new ArrayList<>(k);
        for (int i = 0; i < Math.min(k, p.length); i++) out.add(new Prediction(tok.idToToken(idx[i]), idx[i], p[idx[i]]));
        return out;
    }
}
