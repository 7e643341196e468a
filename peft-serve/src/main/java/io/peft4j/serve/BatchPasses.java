package io.peft4j.serve;

import io.peft4j.core.PeftException;
import io.peft4j.core.infer.FillMask;
import io.peft4j.core.infer.Generator;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.prompt.task.AttachedClassifier;
import io.peft4j.serve.AdapterRegistry.Request;
import io.peft4j.serve.InferenceService.Classification;
import io.peft4j.serve.InferenceService.Generation;
import io.peft4j.serve.InferenceService.GenerationParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntConsumer;

import static io.peft4j.serve.AdapterRegistry.CLASSIFY;
import static io.peft4j.serve.AdapterRegistry.FILL_MASK;

/**
 * The forward passes of {@link AdapterRegistry}: turns one gathered batch of requests of one kind into passes over the
 * shared model and the answers of its requests. The registry decides what runs and when (its queue, gathering, loading,
 * merging, timeouts, listeners); this class only runs a batch it is given, on the registry's worker thread (the model is
 * not thread-safe), with the adapters the batch needs already loaded. It keeps nothing from one batch to the next.
 *
 * <ul>
 *   <li>{@code classify}: every request's records are encoded by its adapter's classifier and run, all adapters
 *       together, in passes of at most {@link AdapterRegistry.Options#maxBatchRows()} rows, each row tagged with its
 *       adapter; each answer carries the labels of the classifier that ran.</li>
 *   <li>{@code fill-mask}: the texts run the same way through {@link FillMask#predict}, each pass with the largest
 *       top-k of its rows, each request answered with its own top-k; rows of the base alone get a tag no adapter
 *       has.</li>
 *   <li>{@code generate}: one request (the registry never batches generations), one prompt at a time, with its
 *       adapter's tag.</li>
 * </ul>
 * Inputs are checked here against what is known only once the adapter is loaded: a classifier record's encoding (a
 * missing field, more than {@link AdapterRegistry.Options#maxInputTokens()} tokens before the classifier's own
 * truncation), a fill-mask text's length (the room its adapter's virtual tokens leave) and its mask token, a prompt's
 * length and emptiness. A request with a bad input fails alone, with {@code BAD_INPUT} naming the adapter and the
 * input's 1-based index; the others of its batch are answered. A pass whose rows all belong to requests already done
 * (timed out or cancelled) is left out, and a generation whose request is done stops at its next token.
 */
final class BatchPasses {
    /** The answers of a batch, in the order its requests ran, and the rows (inputs) it ran. */
    record Answered(Map<Request, List<?>> answers, int rows) {
    }

    private final PeftModel model;
    private final Tokenizer tokenizer;
    private final int[] eosIds;
    private final AdapterRegistry.Options options;
    private final IntConsumer passListener;

    /**
     * @param model        the shared base with its adapters installed
     * @param tokenizer    the base's tokenizer
     * @param eosIds       the ids that end a generation
     * @param options      the registry's options ({@code maxBatchRows}, {@code maxInputTokens})
     * @param passListener told the rows of each classify or fill-mask pass just before it runs (for tests)
     */
    BatchPasses(PeftModel model, Tokenizer tokenizer, int[] eosIds, AdapterRegistry.Options options, IntConsumer passListener) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = eosIds;
        this.options = options;
        this.passListener = passListener;
    }

    /**
     * Runs {@code batch}: requests of one kind, not yet done, whose adapters are loaded. It is first sorted (stably, in
     * place) by adapter tag, the base's rows first, so that one adapter's rows lie side by side and each adapter gathers
     * and adds back one block of a pass ({@code Ops.rows}). A request that fails its input checks is completed
     * exceptionally here; the others are answered only in the result, for the registry to complete once its listeners
     * have heard of the batch. A fault of a pass propagates: the registry fails the whole batch.
     */
    Answered run(List<Request> batch) {
        batch.sort(java.util.Comparator.comparing((Request r) -> r.entry == null ? "" : r.entry.tag));
        Map<Request, List<?>> answers = new LinkedHashMap<>();
        int rows = switch (batch.get(0).kind) {
            case CLASSIFY -> runClassify(batch, answers);
            case FILL_MASK -> runFillMask(batch, answers);
            default -> runGenerate(batch.get(0), answers);
        };
        return new Answered(answers, rows);
    }

    /** Whether every request with a row in {@code [from, to)} is done (answered, timed out or cancelled): then the pass can be left out. */
    private static boolean nobodyWaits(Request[] owners, int from, int to) {
        for (int i = from; i < to; i++) if (!owners[i].future.isDone()) return false;
        return true;
    }

    private int runClassify(List<Request> batch, Map<Request, List<?>> answers) {
        List<AttachedClassifier.Encoded> rows = new ArrayList<>();
        List<Request> live = new ArrayList<>();
        List<int[]> spans = new ArrayList<>();
        for (Request r : batch) {
            List<AttachedClassifier.Encoded> mine = new ArrayList<>();
            try {
                for (int i = 0; i < r.rows(); i++) {
                    @SuppressWarnings("unchecked")
                    Map<String, String> rec = (Map<String, String>) r.inputs.get(i);
                    AttachedClassifier.Encoded e;
                    try {
                        e = r.entry.classifier.encode(rec);
                    } catch (PeftException x) {
                        throw bad(r, i, x.getMessage());
                    }
                    if (e.untruncatedLength() > options.maxInputTokens()) {
                        throw bad(r, i, "has " + e.untruncatedLength() + " tokens, more than the " + options.maxInputTokens() + " allowed");
                    }
                    mine.add(e);
                }
            } catch (ServeException x) {
                r.future.completeExceptionally(x);
                continue;
            }
            spans.add(new int[]{rows.size(), mine.size()});
            rows.addAll(mine);
            live.add(r);
        }
        if (rows.isEmpty()) return 0;
        Request[] owners = new Request[rows.size()];
        for (int k = 0; k < live.size(); k++) Arrays.fill(owners, spans.get(k)[0], spans.get(k)[0] + spans.get(k)[1], live.get(k));
        double[][] lp = new double[rows.size()][];
        for (int s = 0; s < rows.size(); s += options.maxBatchRows()) {
            int end = Math.min(rows.size(), s + options.maxBatchRows());
            if (nobodyWaits(owners, s, end)) continue;            // timed out or cancelled: stop spending the worker on it
            passListener.accept(end - s);
            double[][] part = AttachedClassifier.logProbabilities(rows.subList(s, end));
            System.arraycopy(part, 0, lp, s, part.length);
        }
        for (int k = 0; k < live.size(); k++) {
            Request r = live.get(k);
            if (r.future.isDone()) continue;
            List<String> labels = r.entry.classifier.labels();     // the labels of the classifier that ran, as loaded
            List<Classification> out = new ArrayList<>(r.rows());
            for (int i = 0; i < spans.get(k)[1]; i++) {
                double[] row = lp[spans.get(k)[0] + i];
                Map<String, Double> probs = new LinkedHashMap<>();
                int best = 0;
                for (int c = 0; c < row.length; c++) {
                    probs.put(labels.get(c), Math.exp(row[c]));
                    if (row[c] > row[best]) best = c;
                }
                out.add(new Classification(labels.get(best), Collections.unmodifiableMap(probs)));
            }
            answers.put(r, List.copyOf(out));
        }
        return rows.size();
    }

    private static ServeException bad(Request r, int input, String fault) {
        return new ServeException(ServeException.Kind.BAD_INPUT, (r.entry == null ? "the base model" : "adapter '" + r.entry.name + "'") + ": input "
                + (input + 1) + " " + fault);
    }

    private int runFillMask(List<Request> batch, Map<Request, List<?>> answers) {
        int positions = model.base().config().maxPositions();
        List<String> texts = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        List<Request> live = new ArrayList<>();
        for (Request r : batch) {
            int room = Math.min(options.maxInputTokens(), positions - (r.entry == null ? 0 : r.entry.meta.virtualTokens()));
            try {
                for (int i = 0; i < r.rows(); i++) {
                    String text = (String) r.inputs.get(i);
                    Encoding e = tokenizer.encode(text);
                    if (e.length() > room) throw bad(r, i, "has " + e.length() + " tokens, more than the " + room + " allowed");
                    boolean mask = false;
                    for (int id : e.ids()) mask |= id == tokenizer.maskId();
                    if (!mask) throw bad(r, i, "has no mask token (" + tokenizer.idToToken(tokenizer.maskId()) + ")");
                }
            } catch (ServeException x) {
                r.future.completeExceptionally(x);
                continue;
            }
            for (Object t : r.inputs) {
                texts.add((String) t);
                tags.add(r.entry == null ? null : r.entry.tag);
            }
            live.add(r);
        }
        if (texts.isEmpty()) return 0;
        Request[] owners = new Request[texts.size()];
        int at = 0;
        for (Request r : live) for (int i = 0; i < r.rows(); i++) owners[at++] = r;
        List<List<FillMask.Prediction>> preds = new ArrayList<>(Collections.nCopies(texts.size(), null));
        boolean anyTag = tags.stream().anyMatch(Objects::nonNull);
        for (int s = 0; s < texts.size(); s += options.maxBatchRows()) {
            int end = Math.min(texts.size(), s + options.maxBatchRows());
            if (nobodyWaits(owners, s, end)) continue;            // timed out or cancelled: stop spending the worker on it
            int most = 1;                                         // the pass's largest top-k
            for (int i = s; i < end; i++) most = Math.max(most, owners[i].topK);
            // untagged rows are the base's: a tag no adapter has (without any tags every active adapter would apply)
            List<String> t = tags.subList(s, end).stream().map(x -> x == null ? "" : x).toList();
            passListener.accept(end - s);
            List<List<FillMask.Prediction>> part = FillMask.predict(model.base(), tokenizer, texts.subList(s, end), most,
                    anyTag || !model.adapters().isEmpty() ? t : null);
            for (int i = 0; i < part.size(); i++) preds.set(s + i, part.get(i));
        }
        at = 0;
        for (Request r : live) {
            int first = at;
            at += r.rows();
            if (r.future.isDone()) continue;
            List<List<FillMask.Prediction>> out = new ArrayList<>(r.rows());
            for (int i = first; i < at; i++) out.add(List.copyOf(preds.get(i).subList(0, Math.min(r.topK, preds.get(i).size()))));
            answers.put(r, List.copyOf(out));
        }
        return texts.size();
    }

    private int runGenerate(Request r, Map<Request, List<?>> answers) {
        Decoder d = (Decoder) model.base();
        GenerationParams p = r.params;
        List<String> stops = p.stop() == null ? List.of() : p.stop();
        List<Generation> out = new ArrayList<>(r.rows());
        int positions = d.config().maxPositions() - (r.entry == null ? 0 : r.entry.meta.virtualTokens());
        int room = Math.min(options.maxInputTokens(), positions - 1);
        List<int[]> prompts = new ArrayList<>();
        try {
            for (int i = 0; i < r.rows(); i++) {
                int[] ids = tokenizer.encodeText((String) r.inputs.get(i));
                if (ids.length == 0) throw bad(r, i, "is empty: there is nothing to continue");
                if (ids.length > room) throw bad(r, i, "has " + ids.length + " tokens, more than the " + room + " allowed");
                prompts.add(ids);
            }
        } catch (ServeException x) {
            r.future.completeExceptionally(x);
            return 0;
        }
        String tag = r.entry == null ? (model.adapters().isEmpty() ? null : "") : r.entry.tag;
        for (int[] ids : prompts) {
            if (r.future.isDone()) return prompts.size();      // timed out: stop spending the worker on it
            int maxNew = Math.min(p.maxNewTokens(), positions - ids.length);
            java.util.function.Predicate<int[]> stopAfter = gen -> {
                if (r.future.isDone()) return true;                  // timed out: its answer is no longer wanted
                if (stops.isEmpty()) return false;
                String text = tokenizer.decode(gen, true);
                return stops.stream().anyMatch(text::contains);
            };
            int[] gen = Generator.generate(d, ids, maxNew, p.temperature(), p.seed(), eosIds, tag, stopAfter);
            String text = tokenizer.decode(gen, true);
            String reason = gen.length > 0 && java.util.Arrays.stream(eosIds).anyMatch(x -> x == gen[gen.length - 1]) ? "eos" : "length";
            int cut = -1;
            for (String s : stops) {
                int i = text.indexOf(s);
                if (i >= 0 && (cut < 0 || i < cut)) cut = i;
            }
            if (cut >= 0) {
                text = text.substring(0, cut);
                reason = "stop";
            }
            out.add(new Generation(text, gen.length, reason));
        }
        answers.put(r, List.copyOf(out));
        return prompts.size();
    }
}
