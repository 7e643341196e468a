package io.peft4j.prompt.verbalizer;

import io.peft4j.core.PeftException;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Verbalizer}'s label words as token ids of one tokenizer, and the class scores they give from LM logits
 * at the answer position. The scores are a differentiable function of the logits, so they serve training
 * (cross-entropy over them is PET's loss) as well as prediction.
 */
public final class LabelWords {
    private static final Logger LOG = LoggerFactory.getLogger(LabelWords.class);

    private final Verbalizer verbalizer;
    private final int[][][] ids;       // [class][word][token]
    private final int[] pieces;        // every token of every word, in class/word order
    private final int[] wordStart;     // per word: its first entry in pieces
    private final int[] wordLength;    // per word: its token count
    private final int[] wordClass;     // per word: its class

    LabelWords(Verbalizer verbalizer, Tokenizer tok) {
        this.verbalizer = verbalizer;
        List<String> labels = verbalizer.labels();
        int unk = tok.tokenToId("[UNK]") >= 0 ? tok.tokenToId("[UNK]") : tok.tokenToId("<unk>");
        ids = new int[labels.size()][][];
        Map<String, String> owner = new HashMap<>();
        List<Integer> p = new ArrayList<>(), start = new ArrayList<>(), len = new ArrayList<>(), cls = new ArrayList<>();
        List<String> multi = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            List<String> words = verbalizer.words(labels.get(c));
            ids[c] = new int[words.size()][];
            for (int w = 0; w < words.size(); w++) {
                String word = words.get(w);
                int[] t = tok.encodeText(verbalizer.prefix() + word);
                String where = (verbalizer.source() == null ? "" : verbalizer.source() + ": ") + "label word '" + word + "' of label '" + labels.get(c) + "'"
                        + (verbalizer.prefix().equals(" ") ? "" : " (tokenized with the prefix '" + verbalizer.prefix() + "')");
                if (t.length == 0) throw new PeftException(where + " has no tokens");
                for (int id : t) {
                    if (id == unk) throw new PeftException(where + " is not in the vocabulary (the tokenizer gives " + tok.idToToken(unk) + ")");
                }
                if (t.length > 1) {
                    String pieces = Arrays.stream(t).mapToObj(tok::idToToken).toList().toString();
                    if (verbalizer.multiToken() == MultiToken.SINGLE) {
                        throw new PeftException(where + " is " + t.length + " tokens " + pieces + ", but single tokens are required (multi_token single);"
                                + " choose a one-token word or multi_token first, mean or max");
                    }
                    multi.add(word + " " + pieces);
                }
                String key = Arrays.toString(t);
                String prev = owner.putIfAbsent(key, labels.get(c));
                if (prev != null && !prev.equals(labels.get(c))) {
                    throw new PeftException(where + " has the same tokens as a word of label '" + prev + "': the labels cannot be told apart by it");
                }
                ids[c][w] = t;
                start.add(p.size());
                len.add(t.length);
                cls.add(c);
                for (int id : t) p.add(id);
            }
        }
        if (!multi.isEmpty()) LOG.info("label words of several tokens, scored by their {} token(s): {}", verbalizer.multiToken(), multi);
        pieces = p.stream().mapToInt(Integer::intValue).toArray();
        wordStart = start.stream().mapToInt(Integer::intValue).toArray();
        wordLength = len.stream().mapToInt(Integer::intValue).toArray();
        wordClass = cls.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The verbalizer these words come from. */
    public Verbalizer verbalizer() {
        return verbalizer;
    }

    /** The labels in class order. */
    public List<String> labels() {
        return verbalizer.labels();
    }

    /** The number of classes C. */
    public int classCount() {
        return ids.length;
    }

    /** The token ids of label word w of class c: {@code ids()[c][w]}. */
    public int[][][] ids() {
        int[][][] out = new int[ids.length][][];
        for (int c = 0; c < ids.length; c++) {
            out[c] = new int[ids[c].length][];
            for (int w = 0; w < ids[c].length; w++) out[c][w] = ids[c][w].clone();
        }
        return out;
    }

    /**
     * Class scores {@code [B, C]} from the LM logits {@code [B, V]} at the answer positions:
     * normalisation ({@link Normalization}), the word's tokens ({@link MultiToken}), the mean over each class's
     * words. Differentiable in the logits.
     */
    public Tensor scores(Tensor logits) {
        long b = logits.size(0), v = logits.size(1);
        int k = pieces.length, words = wordStart.length, classes = ids.length;
        DataType type = logits.dataType();
        Tensor lp = verbalizer.normalization() == Normalization.VOCABULARY ? Ops.logSoftmax(logits) : logits;
        int[] flat = new int[(int) b * k];
        for (int r = 0; r < b; r++) for (int i = 0; i < k; i++) flat[r * k + i] = (int) (r * v + pieces[i]);
        Tensor g = Ops.reshape(Ops.embedding(Ops.reshape(lp, b * v, 1), flat), b, k);   // each row's tokens' values
        Tensor w;
        if (verbalizer.multiToken() == MultiToken.MAX) {
            INDArray gv = g.value();
            double[] sel = new double[(int) b * k * words];    // per row: 1 at each word's largest token
            for (int r = 0; r < b; r++) {
                for (int j = 0; j < words; j++) {
                    int best = wordStart[j];
                    for (int i = wordStart[j] + 1; i < wordStart[j] + wordLength[j]; i++) if (gv.getDouble(r, i) > gv.getDouble(r, best)) best = i;
                    sel[(r * k + best) * words + j] = 1;
                }
            }
            Tensor s = Tensor.constant(Nd4j.create(sel, new long[]{b, k, words}, 'c').castTo(type));
            w = Ops.reshape(Ops.matmul(Ops.reshape(g, b, 1, k), s, false, false), b, words);
        } else {
            double[] sel = new double[k * words];
            for (int j = 0; j < words; j++) {
                if (verbalizer.multiToken() == MultiToken.MEAN) {
                    for (int i = 0; i < wordLength[j]; i++) sel[(wordStart[j] + i) * words + j] = 1.0 / wordLength[j];
                } else {
                    sel[wordStart[j] * words + j] = 1;           // FIRST, and SINGLE (one token)
                }
            }
            w = Ops.matmul(g, Tensor.constant(Nd4j.create(sel, new long[]{k, words}, 'c').castTo(type)), false, false);
        }
        if (verbalizer.normalization() == Normalization.LABEL_WORDS) w = Ops.logSoftmax(w);
        double[] mean = new double[words * classes];
        for (int j = 0; j < words; j++) mean[j * classes + wordClass[j]] = 1.0 / ids[wordClass[j]].length;
        return Ops.matmul(w, Tensor.constant(Nd4j.create(mean, new long[]{words, classes}, 'c').castTo(type)), false, false);
    }
}
