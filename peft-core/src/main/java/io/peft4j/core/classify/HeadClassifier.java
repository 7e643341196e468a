package io.peft4j.core.classify;

import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.model.Batch;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Workspaces;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A model with a {@link ClassificationHead}: each record's text field(s) encoded by {@code encoder}, the head's
 * logits turned into log-probabilities. What {@code peft train} without a template trains.
 *
 * <pre>{@code
 * TextClassifier clf = new HeadClassifier(model, new TextEncoder(tokenizer, List.of("text"), 128, Truncation.END));
 * int[] labels = clf.predict(List.of(Map.of("text", "Win a free cruise!")), 16);
 * }</pre>
 */
public final class HeadClassifier implements TextClassifier {
    private final PeftModel model;
    private final TextEncoder encoder;
    private final ClassificationHead head;

    /** {@code model}'s head must be a classification head. */
    public HeadClassifier(PeftModel model, TextEncoder encoder) {
        if (!(model.head() instanceof ClassificationHead h) || h.isRegression()) {
            throw new IllegalArgumentException("a head classifier needs a classification head on the model, not " + model.head());
        }
        this.model = model;
        this.encoder = encoder;
        this.head = h;
    }

    public TextEncoder encoder() {
        return encoder;
    }

    @Override
    public List<String> labels() {
        return head.labels();
    }

    @Override
    public double[][] logProbabilities(List<Map<String, String>> records, int batchSize) {
        double[][] out = new double[records.size()][];
        for (int s = 0; s < records.size(); s += batchSize) {
            List<Example.Classification> part = new ArrayList<>();
            for (int i = s; i < Math.min(records.size(), s + batchSize); i++) {
                var e = encoder.encode(new TextRecord(records.get(i), null, "input", i + 1));
                part.add(new Example.Classification(e.ids(), e.typeIds(), 0));
            }
            ForwardContext ctx = ForwardContext.inference(part.size());
            List<int[]> ids = part.stream().map(Example::ids).toList(), types = part.stream().map(Example.Classification::tokenTypes).toList();
            Batch batch = Objectives.collate(ids, types.contains(null) ? null : types);
            INDArray logits = Workspaces.run(() -> new INDArray[]{model.headLogits(model.forward(batch, ctx), ctx).value()})[0];
            for (int r = 0; r < part.size(); r++) out[s + r] = TextClassifier.logSoftmax(logits.getRow(r).toDoubleVector());
        }
        return out;
    }

}
