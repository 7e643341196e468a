package io.peft4j.serve;

import io.peft4j.core.PeftException;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.infer.FillMask;
import io.peft4j.core.model.Decoder;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.Precision;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.Mergeable;
import io.peft4j.core.peft.Merging;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prompt.task.AttachedClassifier;
import io.peft4j.prompt.task.ClassifierDirectory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * One frozen base model in memory serving many small task adapters, switched per request: the implementation of
 * {@link InferenceService}.
 *
 * <p><b>Adapters.</b> An adapter is registered by name from a directory ({@link #register} loads it lazily, on its
 * first request; {@link #load} at once) and may be of any method and kind:
 * <ul>
 *   <li>a trained classifier directory as {@code peft train} writes it ({@link ClassifierDirectory}: adapter files of
 *       any method, or none, with a head, or a template with a verbalizer or a head, and {@code task.json}): served by
 *       {@link #classify}, each adapter with its own head, template and label map;</li>
 *   <li>a plain Hugging Face PEFT (or AdapterHub) adapter directory: served by {@link #fillMask} on an encoder base
 *       (BERT), by {@link #generate} on a decoder base (GPT-2, the Llama family).</li>
 * </ul>
 * A fully fine-tuned directory (its own {@code config.json}) is a whole model, not an adapter: it is refused. At most
 * {@link Options#maxLoadedAdapters()} adapters are in memory; loading another evicts the least recently used one that
 * no accepted request waits for, and an evicted adapter is loaded again from its directory on its next request.
 * {@link #load} of a name that exists (or {@link #reload}) replaces the adapter atomically: a request accepted before
 * runs on the version that was current then (kept in memory, under an internal versioned name, until its accepted
 * requests are done), a request accepted after on the new one. A version that was not in memory when it was replaced
 * is read from its directory as that directory is when the request runs.
 *
 * <p><b>Batching.</b> One worker thread runs the model (which is not thread-safe; ND4J spreads each op over the cores
 * itself). Requests are queued; the worker takes the oldest, then every request of the same kind ({@code classify},
 * {@code fillMask}) that arrives within {@link Options#maxWaitMillis()} while the batch has fewer than
 * {@link Options#maxBatchRows()} rows, and runs them as one pass whose rows are tagged with their adapters
 * ({@link io.peft4j.core.hooks.ForwardContext} row tags): selecting an adapter copies no base weight, and each result
 * equals the request run alone up to float rounding. Generation runs one prompt at a time. Loads, unloads and
 * evictions run on the worker between batches, so they never race a pass. Listeners ({@link #addBatchListener}) are
 * told every batch that answered requests (its kind {@code classify}, {@code fill-mask} or {@code generate}, its
 * requests and rows), on the worker, just before its requests are answered.
 *
 * <p><b>Faults.</b> Futures fail with {@link ServeException}: {@code UNKNOWN_ADAPTER} for a name not registered,
 * {@code BAD_INPUT} for a missing text field, an input over {@link Options#maxInputTokens()}, a fill-mask text without
 * a mask token or a request of the wrong kind for its adapter (each message names the adapter, the field and the
 * input's 1-based index), a request of more than {@link Options#maxInputsPerRequest()} inputs or a fill-mask request
 * over {@link Options#maxPredictionsPerRequest()}, {@code OVERLOADED} when {@link Options#queueCapacity()} requests
 * already wait (or after {@link #close}), {@code TIMEOUT} when a request is not answered within
 * {@link Options#requestTimeout()} (a request timed out or cancelled takes no further pass). Any other fault of a batch,
 * an {@link Error} included, fails that batch's requests and the worker goes on.
 * Continuations attached to a future without an executor run on the worker thread: keep them short or use the
 * {@code *Async} forms.
 *
 * <p><b>Merged serving.</b> With a {@link MergePolicy}, when one LoRA or IA3 adapter had at least
 * {@link MergePolicy#share()} of the last {@link MergePolicy#window()} requests and a batch holds only its rows, it is
 * folded into the base weights ({@link Merging}) and its rows run without its hooks; the first batch with rows of
 * another adapter (or of the base) takes it out again, restoring the saved base weights exactly, and the window must
 * fill again before the next merge.
 *
 * <pre>{@code
 * try (AdapterRegistry registry = AdapterRegistry.open(Path.of("models/bert-base-uncased"),
 *         AdapterRegistry.Options.builder().maxLoadedAdapters(8).maxBatchRows(32).maxWaitMillis(5).build())) {
 *     registry.register("spam", Path.of("adapters/spam-lora"));          // loaded on its first request
 *     registry.load("topic", Path.of("adapters/topic-prompt"));          // loaded now
 *     List<InferenceService.Classification> c = registry.classify("spam", List.of(Map.of("text", "Win a free cruise!"))).join();
 *     System.out.println(c.get(0).label() + " " + c.get(0).probabilities());
 *     registry.load("spam", Path.of("adapters/spam-lora-v2"));           // atomic reload while serving
 * }
 * }</pre>
 */
public final class AdapterRegistry implements InferenceService {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterRegistry.class);
    static final String CLASSIFY = "classify", FILL_MASK = "fill-mask", GENERATE = "generate";
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Object WAKE = new Object();

    // ------------------------------------------------------------------ options

    /**
     * How a registry serves.
     *
     * @param maxLoadedAdapters at most this many adapters in memory (least recently used evicted first; more only
     *                          while every loaded one has requests waiting)
     * @param maxBatchRows      at most this many inputs in one pass (a single larger request runs in several)
     * @param maxWaitMillis     how long the worker waits for more requests to fill a batch (0: takes what is queued)
     * @param queueCapacity     at most this many requests waiting; more fail with {@code OVERLOADED}
     * @param requestTimeout    a request not answered within this fails with {@code TIMEOUT}
     * @param maxInputTokens    an input longer than this many tokens (special tokens included, before a classifier's
     *                          truncation) fails with {@code BAD_INPUT}
     * @param maxInputsPerRequest a request with more inputs than this fails with {@code BAD_INPUT} (one request must not
     *                          hold the worker for long)
     * @param maxPredictionsPerRequest a fill-mask request whose inputs × top-k exceed this fails with {@code BAD_INPUT}
     * @param dataType          the base's type: {@code FLOAT} or {@code DOUBLE}
     * @param mergePolicy       when to serve one adapter merged into the base weights; null: never
     * @param adapterRoot       adapter directories must lie under this one, and so must the real path of every entry in
     *                          them: no symbolic link may lead outside ({@code FORBIDDEN} otherwise; checked at
     *                          registration and before each load); null: anywhere
     */
    public record Options(int maxLoadedAdapters, int maxBatchRows, long maxWaitMillis, int queueCapacity, Duration requestTimeout,
                          int maxInputTokens, int maxInputsPerRequest, int maxPredictionsPerRequest, DataType dataType, MergePolicy mergePolicy,
                          Path adapterRoot) {
        public Options {
            if (maxLoadedAdapters < 1) throw new IllegalArgumentException("maxLoadedAdapters must be at least 1, not " + maxLoadedAdapters);
            if (maxBatchRows < 1) throw new IllegalArgumentException("maxBatchRows must be at least 1, not " + maxBatchRows);
            if (maxWaitMillis < 0) throw new IllegalArgumentException("maxWaitMillis must be >= 0, not " + maxWaitMillis);
            if (queueCapacity < 1) throw new IllegalArgumentException("queueCapacity must be at least 1, not " + queueCapacity);
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            if (requestTimeout.isNegative() || requestTimeout.isZero()) throw new IllegalArgumentException("requestTimeout must be positive, not " + requestTimeout);
            if (maxInputTokens < 1) throw new IllegalArgumentException("maxInputTokens must be at least 1, not " + maxInputTokens);
            if (maxInputsPerRequest < 1) throw new IllegalArgumentException("maxInputsPerRequest must be at least 1, not " + maxInputsPerRequest);
            if (maxPredictionsPerRequest < 1) {
                throw new IllegalArgumentException("maxPredictionsPerRequest must be at least 1, not " + maxPredictionsPerRequest);
            }
            if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) throw new IllegalArgumentException("dataType must be FLOAT or DOUBLE, not " + dataType);
            if (adapterRoot != null) adapterRoot = adapterRoot.toAbsolutePath().normalize();
        }

        /**
         * 16 adapters, 32 rows, 5 ms, 1024 queued, 30 s, 512 tokens, 256 inputs a request, 10,000 fill-mask predictions a
         * request, FLOAT, no merging, any directory.
         */
        public static Options defaults() {
            return builder().build();
        }

        public static Builder builder() {
            return new Builder();
        }

        /** A builder starting from these options. */
        public Builder toBuilder() {
            return new Builder().maxLoadedAdapters(maxLoadedAdapters).maxBatchRows(maxBatchRows).maxWaitMillis(maxWaitMillis).queueCapacity(queueCapacity)
                    .requestTimeout(requestTimeout).maxInputTokens(maxInputTokens).maxInputsPerRequest(maxInputsPerRequest)
                    .maxPredictionsPerRequest(maxPredictionsPerRequest).dataType(dataType).mergePolicy(mergePolicy).adapterRoot(adapterRoot);
        }

        /** Builds {@link Options}; every setting has the default {@link #defaults()} lists. */
        public static final class Builder {
            private int maxLoadedAdapters = 16, maxBatchRows = 32, queueCapacity = 1024, maxInputTokens = 512, maxInputsPerRequest = 256,
                    maxPredictionsPerRequest = 10_000;
            private long maxWaitMillis = 5;
            private Duration requestTimeout = Duration.ofSeconds(30);
            private DataType dataType = DataType.FLOAT;
            private MergePolicy mergePolicy;
            private Path adapterRoot;

            private Builder() {
            }

            public Builder maxLoadedAdapters(int n) {
                this.maxLoadedAdapters = n;
                return this;
            }

            public Builder maxBatchRows(int n) {
                this.maxBatchRows = n;
                return this;
            }

            public Builder maxWaitMillis(long ms) {
                this.maxWaitMillis = ms;
                return this;
            }

            public Builder queueCapacity(int n) {
                this.queueCapacity = n;
                return this;
            }

            public Builder requestTimeout(Duration d) {
                this.requestTimeout = d;
                return this;
            }

            public Builder maxInputTokens(int n) {
                this.maxInputTokens = n;
                return this;
            }

            public Builder maxInputsPerRequest(int n) {
                this.maxInputsPerRequest = n;
                return this;
            }

            public Builder maxPredictionsPerRequest(int n) {
                this.maxPredictionsPerRequest = n;
                return this;
            }

            public Builder dataType(DataType t) {
                this.dataType = t;
                return this;
            }

            public Builder mergePolicy(MergePolicy p) {
                this.mergePolicy = p;
                return this;
            }

            public Builder adapterRoot(Path root) {
                this.adapterRoot = root;
                return this;
            }

            public Options build() {
                return new Options(maxLoadedAdapters, maxBatchRows, maxWaitMillis, queueCapacity, requestTimeout, maxInputTokens, maxInputsPerRequest,
                        maxPredictionsPerRequest, dataType, mergePolicy, adapterRoot);
            }
        }
    }

    /**
     * Serve one adapter merged into the base when it takes nearly all traffic: when it had at least {@code share} of the
     * last {@code window} requests (all of them counted, whatever their adapter) and a batch holds only its rows. An
     * unmerge empties the window: no adapter is merged again before {@code window} more requests (those of the batch that
     * unmerged included) have been counted, so traffic that alternates near the share does not merge and unmerge on
     * every batch.
     */
    public record MergePolicy(double share, int window) {
        public MergePolicy {
            if (!(share > 0 && share <= 1)) throw new IllegalArgumentException("share must be in (0, 1], not " + share);
            if (window < 1) throw new IllegalArgumentException("window must be at least 1, not " + window);
        }
    }

    // ------------------------------------------------------------------ state

    /**
     * What an adapter directory is: read when it is registered (no weights; {@link AdapterDirectory#inspect}), then
     * replaced by what was actually loaded each time the weights are loaded (the directory may have been retrained in
     * place since).
     */
    record Meta(String task, String method, List<String> labels, List<String> inputFields, long parameters, int virtualTokens) {
    }

    /** One version of a named adapter. Loaded state is changed on the worker only. */
    static final class Entry {
        final String name, tag;
        final Path dir;
        final long version;
        volatile Meta meta;
        volatile AttachedClassifier classifier;   // a loaded classifier
        volatile Adapter adapter;                 // a loaded plain adapter
        volatile boolean merged;
        volatile long loadedParameters;
        int pending;                              // accepted requests not finished; guarded by the registry's lock
        boolean retired;                          // replaced or unloaded; guarded by the lock

        Entry(String name, Path dir, long version, Meta meta) {
            this.name = name;
            this.dir = dir;
            this.version = version;
            this.meta = meta;
            this.tag = name.replaceAll("[^A-Za-z0-9_-]", "_") + "__v" + version;
        }

        boolean loaded() {
            return classifier != null || adapter != null;
        }
    }

    /** An accepted request. */
    static final class Request {
        final String kind;
        final Entry entry;                       // null: the base alone
        final List<?> inputs;                    // records, texts or prompts
        final int topK;
        final GenerationParams params;
        final CompletableFuture<List<?>> future = new CompletableFuture<>();
        volatile ScheduledFuture<?> timeout;

        Request(String kind, Entry entry, List<?> inputs, int topK, GenerationParams params) {
            this.kind = kind;
            this.entry = entry;
            this.inputs = inputs;
            this.topK = topK;
            this.params = params;
        }

        int rows() {
            return inputs.size();
        }

        String adapterName() {
            return entry == null ? "(base)" : entry.name;
        }
    }

    private final PeftModel model;
    private final Tokenizer tokenizer;
    private final Options options;
    private final boolean decoder;
    private final int[] eosIds;

    private final Object lock = new Object();
    private final Map<String, Entry> current = new LinkedHashMap<>();          // guarded by lock
    private long nextVersion = 1;                                               // guarded by lock
    private volatile boolean closed;

    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final ConcurrentLinkedQueue<Task> control = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waiting = new AtomicInteger();
    private final List<BatchListener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledThreadPoolExecutor timer;
    private final Thread worker;

    // the worker's own
    private final LinkedHashMap<Entry, Boolean> installed = new LinkedHashMap<>(16, 0.75f, true);   // access order: eldest first
    private final ArrayDeque<Request> backlog = new ArrayDeque<>();
    private final ArrayDeque<Object> recent = new ArrayDeque<>();                                     // entries (or BASE) of the last requests
    private static final Object BASE = new Object();
    private Entry mergedEntry;
    private final List<INDArray[]> mergeSnapshot = new ArrayList<>();                                 // {weight, saved copy}
    /** Told the rows of each forward pass of a classify or fill-mask batch just before it runs, on the worker (for tests). */
    volatile IntConsumer passListener = rows -> { };
    /** Turns each batch into forward passes and answers (the worker's). */
    private final BatchPasses passes;

    /** Work for the worker between batches; {@link #fail} is called instead of {@link #run} when no worker will run it. */
    private interface Task {
        void run();

        default void fail(Throwable why) {
        }
    }

    private AdapterRegistry(TransformerModel base, Tokenizer tokenizer, int[] eosIds, String baseName, Options options) {
        this.model = PeftModel.of(base, baseName);
        this.tokenizer = tokenizer;
        this.options = options;
        this.decoder = base instanceof Decoder && base.architecture().decoder();
        this.eosIds = eosIds;
        this.passes = new BatchPasses(model, tokenizer, eosIds, options, rows -> passListener.accept(rows));
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "adapter-registry-timeouts");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.worker = new Thread(this::work, "adapter-registry-worker");
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * Opens a registry over the base model {@code model}: a model directory (with its tokenizer files) or a name
     * {@link ModelHub} resolves. The base is loaded now, in {@link Options#dataType()}.
     */
    public static AdapterRegistry open(String model, Options options) {
        return open(ModelHub.resolve(model), options);
    }

    /** Opens a registry over the base model in directory {@code modelDir} (its weights and tokenizer files). */
    public static AdapterRegistry open(Path modelDir, Options options) {
        Objects.requireNonNull(options, "options");
        TransformerModel base = Models.load(modelDir, Precision.of(options.dataType()));
        Tokenizer tok = Tokenizers.load(modelDir);
        return new AdapterRegistry(base, tok, Models.eosTokenIds(modelDir, tok.eosId()), modelDir.toString(), options);
    }

    /** The options it serves with. */
    public Options options() {
        return options;
    }

    @Override
    public String modelType() {
        return model.base().config().modelType();
    }

    @Override
    public boolean isDecoder() {
        return decoder;
    }

    // ------------------------------------------------------------------ adapters

    /**
     * Registers the adapter directory {@code dir} under {@code name} without loading its weights: they are loaded on
     * its first request. What can be checked without them is checked now (the directory's kind, its config files); a
     * name that exists is replaced atomically as by {@link #load}. Faults are {@link ServeException}s naming the file.
     */
    public AdapterInfo register(String name, Path dir) {
        Entry e = newEntry(name, dir);
        swapIn(e);
        return info(e);
    }

    /**
     * Loads the adapter directory {@code dir} under {@code name} now (on the worker, between batches; this call waits
     * for it), then makes it the adapter of that name: a replaced version finishes the requests accepted for it. When
     * loading fails, nothing changes and the fault ({@code BAD_INPUT}, naming the file) is thrown.
     */
    @Override
    public AdapterInfo load(String name, Path dir) {
        Entry e = newEntry(name, dir);
        onWorker(() -> {
            try {
                install(e);
            } catch (ServeException x) {
                throw x;
            } catch (PeftException | IllegalArgumentException x) {
                throw new ServeException(ServeException.Kind.BAD_INPUT, "adapter '" + name + "': " + x.getMessage());
            }
            return null;
        });
        swapIn(e);
        return info(e);
    }

    /** Loads adapter {@code name} again from its directory, atomically as {@link #load} does. */
    public AdapterInfo reload(String name) {
        Entry e;
        synchronized (lock) {
            e = current.get(name);
        }
        if (e == null) throw unknown(name);
        return load(name, e.dir);
    }

    /**
     * Forgets adapter {@code name}: later requests for it fail with {@code UNKNOWN_ADAPTER}; requests already accepted
     * finish, then it leaves memory.
     */
    @Override
    public void unload(String name) {
        synchronized (lock) {
            Entry e = current.remove(name);
            if (e == null) throw unknown(name);
            retire(e);
        }
    }

    @Override
    public List<AdapterInfo> adapters() {
        List<Entry> es;
        synchronized (lock) {
            es = new ArrayList<>(current.values());
        }
        return es.stream().map(this::info).toList();
    }

    /** Adapter {@code name}'s description; {@code UNKNOWN_ADAPTER} when there is none. */
    public AdapterInfo adapter(String name) {
        Entry e;
        synchronized (lock) {
            e = current.get(name);
        }
        if (e == null) throw unknown(name);
        return info(e);
    }

    private AdapterInfo info(Entry e) {
        boolean loaded = e.loaded();
        Meta m = e.meta;
        long params = loaded ? e.loadedParameters : m.parameters();
        return new AdapterInfo(e.name, m.method(), m.task(), m.labels(), e.dir, params, loaded, e.merged);
    }

    private ServeException unknown(String name) {
        List<String> known;
        synchronized (lock) {
            known = new ArrayList<>(current.keySet());
        }
        return new ServeException(ServeException.Kind.UNKNOWN_ADAPTER, "no adapter named '" + name + "' (registered: " + known + ")");
    }

    private Entry newEntry(String name, Path dir) {
        if (closed) throw new ServeException(ServeException.Kind.OVERLOADED, "the registry is closed");
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ServeException(ServeException.Kind.BAD_INPUT, "adapter name '" + name + "' must be 1 to 128 letters, digits, '.', '_' or '-', "
                    + "starting with a letter or digit");
        }
        Objects.requireNonNull(dir, "dir");
        Meta meta;
        try {
            meta = AdapterDirectory.inspect(dir, decoder, options.adapterRoot());
        } catch (PeftException e) {
            if (e instanceof ServeException s) throw s;
            throw new ServeException(ServeException.Kind.BAD_INPUT, "adapter '" + name + "': " + e.getMessage());
        }
        synchronized (lock) {
            return new Entry(name, dir, nextVersion++, meta);
        }
    }

    /** Makes {@code e} the current version of its name; the one it replaces finishes its requests, then leaves. */
    private void swapIn(Entry e) {
        synchronized (lock) {
            if (closed) {
                control.add(() -> uninstallIfUnused(e));
                inbox.add(WAKE);
                throw new ServeException(ServeException.Kind.OVERLOADED, "the registry is closed");
            }
            Entry old = current.put(e.name, e);
            if (old != null) retire(old);
        }
    }

    /** Called with the lock held. */
    private void retire(Entry e) {
        e.retired = true;
        if (e.pending == 0) {
            control.add(() -> uninstallIfUnused(e));
            inbox.add(WAKE);
        }
    }

    /**
     * A classifier that reads one text field takes a record {@code {"text": ...}} (a server's bare string) as that
     * field, whatever its name.
     */
    private static Map<String, String> singleField(Map<String, String> rec, List<String> fields) {
        String text = rec.size() == 1 ? rec.get("text") : null;
        if (fields.size() != 1 || text == null || fields.get(0).equals("text")) return rec;
        return Map.of(fields.get(0), text);
    }

    // ------------------------------------------------------------------ requests

    @Override
    public CompletableFuture<List<Classification>> classify(String adapter, List<Map<String, String>> inputs) {
        return cast(submit(CLASSIFY, adapter, inputs, 0, null));
    }

    @Override
    public CompletableFuture<List<List<FillMask.Prediction>>> fillMask(String adapter, List<String> texts, int topK) {
        return cast(submit(FILL_MASK, adapter, texts, topK, null));
    }

    @Override
    public CompletableFuture<List<Generation>> generate(String adapter, List<String> prompts, GenerationParams params) {
        return cast(submit(GENERATE, adapter, prompts, 0, params));
    }

    @SuppressWarnings("unchecked")
    private static <T> CompletableFuture<List<T>> cast(CompletableFuture<List<?>> f) {
        return (CompletableFuture<List<T>>) (CompletableFuture<?>) f;
    }

    private static CompletableFuture<List<?>> failed(ServeException.Kind kind, String message) {
        return CompletableFuture.failedFuture(new ServeException(kind, message));
    }

    private CompletableFuture<List<?>> submit(String kind, String name, List<?> inputs, int topK, GenerationParams params) {
        String who = name == null ? "the base model" : "adapter '" + name + "'";
        if (closed) return failed(ServeException.Kind.OVERLOADED, "the registry is closed: " + who + " takes no more requests");
        if (inputs == null || inputs.isEmpty()) return failed(ServeException.Kind.BAD_INPUT, who + ": no inputs");
        if (inputs.size() > options.maxInputsPerRequest()) {
            return failed(ServeException.Kind.BAD_INPUT, who + ": " + inputs.size() + " inputs, more than the " + options.maxInputsPerRequest()
                    + " allowed in one request; send them in several requests");
        }
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i) == null) return failed(ServeException.Kind.BAD_INPUT, who + ": input " + (i + 1) + " is null");
        }
        if (kind.equals(CLASSIFY) && name == null) return failed(ServeException.Kind.BAD_INPUT, "classify needs an adapter (a trained classifier)");
        if (kind.equals(FILL_MASK)) {
            if (decoder) return failed(ServeException.Kind.BAD_INPUT, "the base model (" + modelType() + ") is a decoder: fill-mask needs a masked LM; use generate");
            if (tokenizer.maskId() < 0) return failed(ServeException.Kind.BAD_INPUT, "the base model's tokenizer has no mask token: no fill-mask");
            if (topK < 1) return failed(ServeException.Kind.BAD_INPUT, who + ": top-k must be at least 1, not " + topK);
            if ((long) inputs.size() * topK > options.maxPredictionsPerRequest()) {
                return failed(ServeException.Kind.BAD_INPUT, who + ": " + inputs.size() + " inputs with top-k " + topK + " ask for " + (long) inputs.size() * topK
                        + " predictions, more than the " + options.maxPredictionsPerRequest() + " allowed in one request; lower top-k or send fewer inputs");
            }
        }
        if (kind.equals(GENERATE)) {
            if (!decoder) return failed(ServeException.Kind.BAD_INPUT, "the base model (" + modelType() + ") is not a decoder: generate needs one; use fill-mask");
            String bad = badParams(params);
            if (bad != null) return failed(ServeException.Kind.BAD_INPUT, who + ": " + bad);
        }
        Request r;
        synchronized (lock) {
            if (closed) return failed(ServeException.Kind.OVERLOADED, "the registry is closed: " + who + " takes no more requests");
            Entry e = null;
            if (name != null) {
                e = current.get(name);
                if (e == null) {
                    return failed(ServeException.Kind.UNKNOWN_ADAPTER, "no adapter named '" + name + "' (registered: " + current.keySet() + ")");
                }
                Meta m = e.meta;
                if (!m.task().equals(kind)) {
                    return failed(ServeException.Kind.BAD_INPUT, who + " serves " + m.task() + " (" + (m.task().equals(CLASSIFY)
                            ? "a trained classifier" : "a plain " + m.method() + " adapter") + "), not " + kind);
                }
                if (kind.equals(CLASSIFY)) {
                    List<Object> named = new ArrayList<>(inputs.size());
                    for (int i = 0; i < inputs.size(); i++) {
                        @SuppressWarnings("unchecked")
                        Map<String, String> rec = singleField((Map<String, String>) inputs.get(i), m.inputFields());
                        named.add(rec);
                        for (String f : m.inputFields()) {
                            if (rec.get(f) == null) {
                                return failed(ServeException.Kind.BAD_INPUT, who + ": input " + (i + 1) + " has no text field '" + f + "' (its fields: "
                                        + new java.util.TreeSet<>(rec.keySet()) + "; the classifier reads " + m.inputFields() + ")");
                            }
                        }
                    }
                    inputs = named;
                }
            }
            if (waiting.get() >= options.queueCapacity()) {
                return failed(ServeException.Kind.OVERLOADED, who + ": the queue is full (" + options.queueCapacity() + " requests waiting); try again later");
            }
            List<Object> copy = new ArrayList<>(inputs.size());       // callers may change their maps while the request waits
            for (Object o : inputs) copy.add(o instanceof Map<?, ?> m ? Collections.unmodifiableMap(new LinkedHashMap<>(m)) : o);
            r = new Request(kind, e, Collections.unmodifiableList(copy), topK, params);
            // its timeout is scheduled before it is queued, under the lock: close() (which takes the lock first) cannot shut
            // the timer down in between, and a request in the queue always has its timeout
            long ms = options.requestTimeout().toMillis();
            try {
                r.timeout = timer.schedule(() -> r.future.completeExceptionally(new ServeException(ServeException.Kind.TIMEOUT,
                        who + ": no answer within " + ms + " ms (" + waiting.get() + " requests waiting)")), ms, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException x) {
                return failed(ServeException.Kind.OVERLOADED, "the registry is closed: " + who + " takes no more requests");
            }
            waiting.incrementAndGet();
            if (e != null) e.pending++;
            inbox.add(r);
        }
        r.future.whenComplete((v, x) -> {
            ScheduledFuture<?> t = r.timeout;
            if (t != null) t.cancel(false);
        });
        return r.future;
    }

    private static String badParams(GenerationParams p) {
        if (p == null) return "no generation parameters";
        if (p.maxNewTokens() < 0) return "max new tokens must be >= 0, not " + p.maxNewTokens();
        if (!(p.temperature() >= 0) || Double.isInfinite(p.temperature())) return "temperature must be a number >= 0, not " + p.temperature();
        if (p.stop() != null && p.stop().stream().anyMatch(s -> s == null || s.isEmpty())) return "an empty stop string";
        return null;
    }

    @Override
    public void addBatchListener(BatchListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    // ------------------------------------------------------------------ the worker

    private void work() {
        try {
            while (true) {
                runControl();
                Request first = next();
                if (first == null) {
                    if (closed && inbox.isEmpty() && backlog.isEmpty() && control.isEmpty()) break;
                    continue;
                }
                List<Request> batch = gather(first);
                waiting.addAndGet(-batch.size());
                runBatch(batch);
            }
        } catch (InterruptedException e) {
            stopWorking(new ServeException(ServeException.Kind.OVERLOADED, "the registry's worker was interrupted"));
        } catch (Throwable t) {
            LOG.error("the adapter registry's worker stopped", t);
            stopWorking(t);
        }
    }

    /**
     * The worker is stopping for good: marks the registry closed (under the lock, so that no request is accepted after the
     * queue is drained) and fails every request and worker call left.
     */
    private void stopWorking(Throwable t) {
        synchronized (lock) {
            closed = true;
        }
        List<Request> left = new ArrayList<>(backlog);
        backlog.clear();
        for (Object o : inbox) if (o instanceof Request r) left.add(r);
        inbox.clear();
        for (Request r : left) r.future.completeExceptionally(t);
        failControl(t);
    }

    /** Fails every worker call still queued: no worker will run them. */
    private void failControl(Throwable t) {
        Task c;
        while ((c = control.poll()) != null) {
            try {
                c.fail(t);
            } catch (Throwable x) {
                LOG.warn("adapter registry: failing a queued call failed: {}", x.toString(), x);
            }
        }
    }

    private void runControl() {
        Task c;
        while ((c = control.poll()) != null) {
            try {
                c.run();
            } catch (Throwable e) {
                LOG.warn("adapter registry: {}", e.toString(), e);
            }
        }
    }

    /** The oldest request, or null after a wake-up or a quiet second. */
    private Request next() throws InterruptedException {
        if (!backlog.isEmpty()) return backlog.pollFirst();
        Object o = closed ? inbox.poll() : inbox.poll(1, TimeUnit.SECONDS);
        return o instanceof Request r ? r : null;
    }

    /** {@code first} and the requests that join its batch. */
    private List<Request> gather(Request first) throws InterruptedException {
        List<Request> batch = new ArrayList<>();
        batch.add(first);
        if (first.kind.equals(GENERATE)) return batch;
        int rows = first.rows(), max = options.maxBatchRows();
        for (Iterator<Request> it = backlog.iterator(); it.hasNext() && rows < max; ) {
            Request r = it.next();
            if (r.kind.equals(first.kind) && rows + r.rows() <= max) {
                it.remove();
                batch.add(r);
                rows += r.rows();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.maxWaitMillis());
        while (rows < max) {
            long left = deadline - System.nanoTime();
            Object o = inbox.poll();
            if (o == null && left > 0 && !closed) o = inbox.poll(left, TimeUnit.NANOSECONDS);
            if (o == null) break;
            if (!(o instanceof Request r)) continue;
            if (r.kind.equals(first.kind) && rows + r.rows() <= max) {
                batch.add(r);
                rows += r.rows();
            } else {
                backlog.addLast(r);
                if (!r.kind.equals(first.kind)) continue;
                if (rows + r.rows() > max) break;
            }
        }
        return batch;
    }

    /**
     * Runs one batch: loads what it needs, applies the merge policy, runs its passes ({@link BatchPasses}), tells the
     * listeners, answers each request, releases the adapters.
     */
    private void runBatch(List<Request> all) {
        List<Request> batch = new ArrayList<>();
        try {
            for (Request r : all) if (!r.future.isDone()) batch.add(r);
            Map<Entry, Throwable> broken = new IdentityHashMap<>();
            for (Request r : batch) {
                if (r.entry == null || broken.containsKey(r.entry)) continue;
                try {
                    ensureLoaded(r.entry);
                } catch (RuntimeException e) {
                    LOG.warn("adapter '{}' failed to load from {}: {}", r.entry.name, r.entry.dir, e.getMessage());
                    broken.put(r.entry, e);
                }
            }
            if (!broken.isEmpty()) {
                for (Request r : batch) if (r.entry != null && broken.containsKey(r.entry)) r.future.completeExceptionally(broken.get(r.entry));
                batch.removeIf(r -> r.future.isDone());
            }
            if (batch.isEmpty()) return;
            applyMergePolicy(batch);
            BatchPasses.Answered done = passes.run(batch);     // sorts the batch by adapter, runs its passes
            Map<Request, List<?>> answers = done.answers();
            // the listeners hear of the batch before its requests are answered, so a metric is counted when a client sees its answer
            if (!answers.isEmpty()) {
                for (BatchListener l : listeners) {
                    try {
                        l.batch(batch.get(0).kind, answers.size(), done.rows());
                    } catch (RuntimeException e) {
                        LOG.warn("a batch listener failed: {}", e.toString());
                    }
                }
            }
            answers.forEach((r, v) -> r.future.complete(v));
        } catch (Throwable e) {
            // any fault, an Error too (out of memory, a stack overflow, a native library's): this batch fails, the worker
            // keeps serving the next
            LOG.error("a {} batch of {} requests failed: {}", all.get(0).kind, all.size(), e.toString(), e);
            for (Request r : all) r.future.completeExceptionally(e);
        } finally {
            for (Request r : all) if (!r.future.isDone()) r.future.completeExceptionally(new IllegalStateException("request was not answered"));
            release(all);
        }
    }

    /** Counts the requests done and takes retired versions nobody waits for out of memory; a fault there is logged. */
    private void release(List<Request> batch) {
        List<Entry> free = new ArrayList<>();
        synchronized (lock) {
            for (Request r : batch) {
                if (r.entry == null) continue;
                if (--r.entry.pending == 0 && r.entry.retired) free.add(r.entry);
            }
        }
        for (Entry e : free) {
            try {
                uninstallIfUnused(e);
            } catch (Throwable x) {
                LOG.warn("adapter '{}' (version {}) could not be taken out of memory: {}", e.name, e.version, x.toString(), x);
            }
        }
    }

    // ------------------------------------------------------------------ loading, eviction (worker only)

    /** Loads {@code e} when it is not in memory, evicting the least recently used adapters nobody waits for. */
    private void ensureLoaded(Entry e) {
        if (e.loaded()) {
            installed.get(e);        // touch: most recently used
            return;
        }
        install(e);
    }

    private void install(Entry e) {
        if (e.loaded()) return;
        AdapterDirectory.checkRoot(e.dir, options.adapterRoot());      // again: a file may have been swapped for a link since registration
        makeRoom();
        Meta before = e.meta, now;
        if (before.task().equals(CLASSIFY)) {
            AttachedClassifier c = ClassifierDirectory.attach(e.dir, model, tokenizer, e.tag);
            e.loadedParameters = c.parameterCount();
            e.classifier = c;
            now = new Meta(CLASSIFY, c.task().method(), List.copyOf(c.labels()), List.copyOf(c.inputFields()), before.parameters(), 0);
        } else {
            Adapter a = model.loadAdapter(e.dir, e.tag);
            e.loadedParameters = a.parameterCount();
            e.adapter = a;
            int virtualTokens = a.config().toJson(PeftConfig.BaseInfo.of(model.base().config(), "")).path("num_virtual_tokens").asInt(0);
            now = new Meta(before.task(), a.config().peftType().toLowerCase(Locale.ROOT), List.of(), List.of(), before.parameters(), virtualTokens);
        }
        // what was loaded is what requests are checked and answered with: the directory may have been retrained in place
        // (other labels, fields, virtual tokens) since it was registered or last loaded
        if (!now.equals(before)) {
            LOG.warn("adapter '{}' (version {}): {} changed since it was registered: now {} (was {})", e.name, e.version, e.dir, now, before);
            e.meta = now;
        }
        installed.put(e, Boolean.TRUE);
        LOG.info("loaded adapter '{}' (version {}) from {}", e.name, e.version, e.dir);
    }

    private void makeRoom() {
        while (installed.size() >= options.maxLoadedAdapters()) {
            Entry victim = null;
            synchronized (lock) {
                for (Entry x : installed.keySet()) {
                    if (x.pending == 0) {
                        victim = x;
                        break;
                    }
                }
            }
            if (victim == null) {
                LOG.warn("{} adapters are loaded and each has requests waiting: loading one more than the cap of {}", installed.size(),
                        options.maxLoadedAdapters());
                return;
            }
            uninstall(victim);
            LOG.info("evicted adapter '{}' (version {}), least recently used", victim.name, victim.version);
        }
    }

    /** Takes {@code e} out of memory if it is retired and no accepted request waits for it. */
    private void uninstallIfUnused(Entry e) {
        synchronized (lock) {
            if (!e.retired || e.pending > 0) return;
        }
        uninstall(e);
    }

    private void uninstall(Entry e) {
        if (mergedEntry == e) unmerge();
        AttachedClassifier c = e.classifier;
        if (c != null) c.detach();
        if (e.adapter != null) model.remove(e.tag);
        e.classifier = null;
        e.adapter = null;
        installed.remove(e);
    }

    // ------------------------------------------------------------------ merged serving (worker only)

    private void applyMergePolicy(List<Request> batch) {
        MergePolicy policy = options.mergePolicy();
        Set<Object> used = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Request r : batch) used.add(r.entry == null ? BASE : r.entry);
        if (mergedEntry != null && !(used.size() == 1 && used.contains(mergedEntry))) unmerge();
        if (policy == null) return;
        for (Request r : batch) {
            recent.addLast(r.entry == null ? BASE : r.entry);
            while (recent.size() > policy.window()) recent.pollFirst();
        }
        if (mergedEntry != null || used.size() != 1 || recent.size() < policy.window()) return;
        Object only = used.iterator().next();
        if (!(only instanceof Entry e) || mergeableAdapter(e) == null) return;
        long count = recent.stream().filter(x -> x == e).count();
        if (count >= Math.ceil(policy.share() * policy.window() - 1e-9)) merge(e);
    }

    /** The adapter of {@code e} that rows tagged with it use, when it can be merged; else null. */
    private Adapter mergeableAdapter(Entry e) {
        if (!e.loaded()) return null;
        Adapter a = e.adapter;
        AttachedClassifier c = e.classifier;
        if (c != null) {
            if (!c.adapterNames().contains(e.tag)) return null;
            a = model.adapter(e.tag);
        }
        return a instanceof Mergeable ? a : null;
    }

    private void merge(Entry e) {
        Adapter a = mergeableAdapter(e);
        Map<String, Tensor> params = model.base().parameters();
        List<INDArray[]> touched = new ArrayList<>();
        // find the base weights the merge changes (the method's own math, run on copies), and keep them as they are
        ((Mergeable) a).merge(new Mergeable.LinearWeights() {
            @Override
            public INDArray weight(String site) {
                Tensor w = params.get(site + ".weight");
                if (w == null) throw new PeftException("the base has no linear weight '" + site + ".weight'");
                touched.add(new INDArray[]{w.value(), w.value().dup()});
                return w.value().dup();
            }

            @Override
            public INDArray bias(String site) {
                Tensor b = params.get(site + ".bias");
                if (b == null) return null;
                touched.add(new INDArray[]{b.value(), b.value().dup()});
                return b.value().dup();
            }
        });
        Merging.merge(model, e.tag);
        mergeSnapshot.clear();
        mergeSnapshot.addAll(touched);
        mergedEntry = e;
        e.merged = true;
        LOG.info("serving adapter '{}' merged into the base weights", e.name);
    }

    private void unmerge() {
        Entry e = mergedEntry;
        Merging.unmerge(model, e.tag);
        for (INDArray[] w : mergeSnapshot) w[0].assign(w[1]);     // exactly the weights before the merge, not up to rounding
        mergeSnapshot.clear();
        mergedEntry = null;
        e.merged = false;
        recent.clear();            // hysteresis: the window must fill again before the next merge
        LOG.info("adapter '{}' unmerged", e.name);
    }

    // ------------------------------------------------------------------ worker calls, close

    /** How often a caller waiting for the worker checks that it is still alive. */
    private static final long WORKER_CHECK_MILLIS = 200;

    private static ServeException closedFault() {
        return new ServeException(ServeException.Kind.OVERLOADED, "the registry is closed");
    }

    /**
     * Runs {@code body} on the worker between batches and waits for it; fails with {@code OVERLOADED} when the worker stops
     * (the registry closed) before running it.
     */
    private <T> T onWorker(Callable<T> body) {
        if (Thread.currentThread() == worker) {
            try {
                return body.call();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        control.add(new Task() {
            @Override
            public void run() {
                try {
                    f.complete(body.call());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            }

            @Override
            public void fail(Throwable why) {
                f.completeExceptionally(why);
            }
        });
        inbox.add(WAKE);
        try {
            while (true) {
                try {
                    return f.get(WORKER_CHECK_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException stillRunning) {
                    // the worker may have stopped (closed, or killed by a fault) after this call was queued: then nobody runs it
                    if (!worker.isAlive()) f.completeExceptionally(closedFault());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the registry's worker", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The names of the adapters installed on the shared model now, internal versioned names (for tests). */
    List<String> installedAdapters() {
        return onWorker(() -> model.adapters().stream().map(Adapter::name).toList());
    }

    /** Requests accepted and not yet taken into a batch. */
    int waitingRequests() {
        return waiting.get();
    }

    /** Whether {@link #close} was called (or the worker stopped): no request is accepted any more. */
    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Stops accepting requests (they fail with {@code OVERLOADED}), answers every request already accepted, then stops
     * the worker. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
        }
        inbox.add(WAKE);
        if (Thread.currentThread() != worker) {
            try {
                worker.join();
                failControl(closedFault());        // worker calls queued after its last look at the queue
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        timer.shutdownNow();
    }
}
