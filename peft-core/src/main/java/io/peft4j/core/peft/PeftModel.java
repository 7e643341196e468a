package io.peft4j.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.head.Head;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A frozen base model with any number of named adapters (of any methods) and an optional task head: what
 * Hugging Face's {@code get_peft_model} returns. Only adapter and head tensors are trainable unless
 * {@link #unfreezeBase()} makes it full fine-tuning.
 *
 * <pre>{@code
 * PeftModel model = PeftModel.of(Models.load(dir, DataType.FLOAT));
 * model.add("default", LoraConfig.builder().r(8).targetModules("c_attn").build());
 * System.out.println(model.parameterCount());   // trainable params: ... || all params: ... || trainable%: ...
 * }</pre>
 */
public final class PeftModel {
    /** File names of the Hugging Face PEFT layout. */
    public static final String CONFIG_FILE = "adapter_config.json", WEIGHTS_FILE = "adapter_model.safetensors";
    /** File names of AdapterHub's layout (bottleneck adapters) and of a saved head. */
    public static final String ADAPTERHUB_WEIGHTS_FILE = "pytorch_adapter.safetensors", HEAD_CONFIG_FILE = "head_config.json",
            HEAD_WEIGHTS_FILE = "head.safetensors";
    /** The adapter name that {@link #save} writes at the directory's root, as Hugging Face PEFT does. */
    public static final String DEFAULT = "default";

    private final TransformerModel base;
    private final String baseName;
    private final Map<String, Adapter> adapters = new LinkedHashMap<>();
    private Head head;
    private boolean baseTrainable;

    private PeftModel(TransformerModel base, String baseName) {
        this.base = base;
        this.baseName = baseName;
    }

    public static PeftModel of(TransformerModel base) {
        return new PeftModel(base, base.config().modelType());
    }

    /** {@code baseName} is written as {@code base_model_name_or_path} into saved adapters. */
    public static PeftModel of(TransformerModel base, String baseName) {
        return new PeftModel(base, baseName);
    }

    public TransformerModel base() {
        return base;
    }

    // ------------------------------------------------------------------ adapters

    /** Adds an adapter with initialisation seed 0. */
    public Adapter add(String name, PeftConfig config) {
        return add(name, config, 0);
    }

    /** Creates the adapter of {@code config}'s method under {@code name} and installs it. */
    public Adapter add(String name, PeftConfig config, long seed) {
        if (adapters.containsKey(name)) throw new IllegalArgumentException("an adapter named '" + name + "' is already installed");
        Adapter a = Methods.forConfig(config).create(base, config, name, seed);
        adapters.put(name, a);
        return a;
    }

    /**
     * Adds an adapter built on this model's base by other means than a config (a composition of installed adapters,
     * which needs them to exist); it is active, as {@link #add(String, PeftConfig)} leaves a new adapter. Fails, and
     * takes the adapter's hooks off again, when its name is taken or it was built on another base.
     */
    public Adapter add(Adapter adapter) {
        if (adapter.model() != base || adapters.containsKey(adapter.name())) {
            adapter.remove();
            throw new IllegalArgumentException(adapter.model() != base ? "adapter '" + adapter.name() + "' was built on another base model"
                    : "an adapter named '" + adapter.name() + "' is already installed");
        }
        adapters.put(adapter.name(), adapter);
        return adapter;
    }

    public Adapter adapter(String name) {
        Adapter a = adapters.get(name);
        if (a == null) throw new IllegalArgumentException("no adapter named '" + name + "' (installed: " + adapters.keySet() + ")");
        return a;
    }

    public Collection<Adapter> adapters() {
        return Collections.unmodifiableCollection(adapters.values());
    }

    public void remove(String name) {
        adapter(name).remove();
        adapters.remove(name);
    }

    /** Makes exactly {@code names} active for batches without row tags (Hugging Face's {@code set_adapter}). */
    public void setActive(String... names) {
        Set<String> on = Set.of(names);
        for (String n : on) adapter(n);
        for (Adapter a : adapters.values()) a.setActive(on.contains(a.name()));
    }

    // ------------------------------------------------------------------ head, full fine-tuning

    public void setHead(Head head) {
        this.head = head;
    }

    public Head head() {
        return head;
    }

    /** Full fine-tuning: every base weight becomes trainable (the baseline PEFT methods are compared with). */
    public void unfreezeBase() {
        for (var e : base.parameters().entrySet()) {
            if (e.getValue().dataType() != base.dataType()) {
                throw new IllegalStateException("full fine-tuning needs the base's weights in " + base.dataType() + ", but '" + e.getKey()
                        + "' is kept as " + e.getValue().dataType() + ": load the model with Precision.of(" + base.dataType() + ")");
            }
        }
        for (Tensor t : base.parameters().values()) t.setTrainable(true);
        baseTrainable = true;
    }

    public boolean isBaseTrainable() {
        return baseTrainable;
    }

    // ------------------------------------------------------------------ running

    public ModelOutput forward(Batch batch, ForwardContext ctx) {
        return base.forward(batch, ctx);
    }

    /** Head logits for the batch; fails when no head is set. */
    public Tensor headLogits(ModelOutput out, ForwardContext ctx) {
        if (head == null) throw new IllegalStateException("no task head: call setHead first");
        return head.apply(out, ctx);
    }

    /**
     * Every trainable tensor under a unique name: {@code adapter/<name>/<key>}, {@code head/<key>},
     * {@code base/<key>}; each distinct tensor once (tied weights once).
     */
    public Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        if (baseTrainable) {
            for (var e : base.parameters().entrySet()) if (seen.add(e.getValue())) out.put("base/" + e.getKey(), e.getValue());
        }
        for (Adapter a : adapters.values()) {
            for (var e : a.parameters().entrySet()) if (seen.add(e.getValue())) out.put("adapter/" + a.name() + "/" + e.getKey(), e.getValue());
        }
        if (head != null) for (var e : head.parameters().entrySet()) if (seen.add(e.getValue())) out.put("head/" + e.getKey(), e.getValue());
        return out;
    }

    /** Trainable vs all parameters, Hugging Face's {@code print_trainable_parameters} convention. */
    public ParameterCount parameterCount() {
        long extra = 0;
        for (Adapter a : adapters.values()) extra += a.parameterCount();
        if (head != null) extra += head.parameters().values().stream().mapToLong(t -> t.value().length()).sum();
        long all = base.parameterCount() + extra;
        return new ParameterCount(baseTrainable ? all : extra, all);
    }

    // ------------------------------------------------------------------ files

    PeftConfig.BaseInfo baseInfo() {
        return PeftConfig.BaseInfo.of(base.config(), baseName);
    }

    /**
     * Saves every adapter in Hugging Face PEFT's layout (bottleneck adapters in AdapterHub's; compositions, which
     * have no file form, are not written): the adapter named {@value #DEFAULT} (or the only one) at {@code dir},
     * others in {@code dir/<name>}; the head
     * beside them; after full fine-tuning ({@link #unfreezeBase}), the whole base model as a Hugging Face
     * checkpoint ({@code config.json} + {@code model.safetensors}, {@link Models#writeCheckpoint}), which
     * {@link Models#load} reads back as a base. The directory is replaced whole or not at all.
     */
    public void save(Path dir) {
        requireSomethingToSave();
        AtomicFiles.writeDirectory(dir, this::writeFiles);
    }

    /**
     * What {@link #save} writes, into the existing directory {@code dir}, without its atomic replacement: for
     * callers that add files of their own to one atomically written directory.
     */
    public void writeFiles(Path dir) throws IOException {
        requireSomethingToSave();
        if (baseTrainable) Models.writeCheckpoint(base, dir);
        java.util.List<Adapter> saved = adapters.values().stream().filter(Adapter::hasFileForm).toList();
        boolean single = saved.size() == 1;
        for (Adapter a : saved) {
            Path d = single || a.name().equals(DEFAULT) ? dir : dir.resolve(a.name());
            writeAdapter(a, d);
        }
        if (head != null) writeHead(dir);
    }

    private void requireSomethingToSave() {
        if (adapters.values().stream().noneMatch(Adapter::hasFileForm) && head == null && !baseTrainable) {
            throw new IllegalStateException("nothing to save: no adapter with a file form, no head, and the base is frozen");
        }
    }

    private void writeAdapter(Adapter a, Path d) throws IOException {
        Files.createDirectories(d);
        boolean adapterHub = a.config().peftType().equals("BOTTLENECK");
        ObjectNode cfg = a.config().toJson(baseInfo());
        if (adapterHub) cfg.put("name", a.name());
        Json.write(d.resolve(CONFIG_FILE), cfg);
        SafeTensors.write(d.resolve(adapterHub ? ADAPTERHUB_WEIGHTS_FILE : WEIGHTS_FILE), a.stateDict(), Map.of("format", "pt"));
    }

    private void writeHead(Path d) {
        Json.write(d.resolve(HEAD_CONFIG_FILE), head.toJson());
        Map<String, INDArray> t = new LinkedHashMap<>();
        head.parameters().forEach((k, v) -> t.put(k, v.value()));
        SafeTensors.write(d.resolve(HEAD_WEIGHTS_FILE), t, Map.of("format", "pt"));
    }

    /**
     * Loads the adapter in {@code dir} (Hugging Face PEFT or AdapterHub layout) under {@code name}, and the
     * head saved beside it if there is one. Errors name the file and what differs from this base.
     */
    public Adapter load(Path dir, String name) {
        Adapter a = loadAdapter(dir, name);
        Head savedHead;
        try {
            savedHead = Files.isRegularFile(dir.resolve(HEAD_CONFIG_FILE)) ? readHead(dir) : null;
        } catch (RuntimeException e) {
            remove(name);        // nothing of a directory that fails to load stays installed
            throw e;
        }
        if (savedHead != null) head = savedHead;
        return a;
    }

    /**
     * Loads the adapter in {@code dir} under {@code name} as {@link #load} does, but not the head saved beside it: for
     * a model that serves several adapters, each with a head of its own ({@link #readHead}), this model's
     * {@link #head()} stays as it is.
     */
    public Adapter loadAdapter(Path dir, String name) {
        if (adapters.containsKey(name)) throw new IllegalArgumentException("an adapter named '" + name + "' is already installed");
        Path cfgFile = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(cfgFile)) throw PeftException.inFile(dir, "not an adapter directory (no " + CONFIG_FILE + ")");
        JsonNode json = Json.read(cfgFile);
        String type = json.hasNonNull("peft_type") ? json.get("peft_type").asText()
                : json.has("config") && json.get("config").isObject() ? "BOTTLENECK" : null;
        if (type == null) throw PeftException.inFile(cfgFile, "no 'peft_type' (Hugging Face PEFT) and no 'config' object (AdapterHub)");
        PeftMethod method;
        try {
            method = Methods.forType(type);
        } catch (PeftException e) {
            throw PeftException.inFile(cfgFile, e.getMessage());
        }
        PeftConfig config;
        try {
            config = method.readConfig(json, cfgFile);
        } catch (PeftException e) {
            throw e;
        } catch (RuntimeException e) {
            throw PeftException.inFile(cfgFile, "invalid adapter config: " + e.getMessage());
        }
        Path weights = dir.resolve(type.equals("BOTTLENECK") ? ADAPTERHUB_WEIGHTS_FILE : WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            boolean pickle = Files.exists(dir.resolve("adapter_model.bin")) || Files.exists(dir.resolve("pytorch_adapter.bin"));
            throw PeftException.inFile(dir, "no " + weights.getFileName() + (pickle ? " (PyTorch .bin files are not read: re-save with safetensors)" : ""));
        }
        Map<String, INDArray> tensors = SafeTensors.readAll(weights, base.dataType());
        Adapter a = backedBy(tensors, cfgFile, weights, () -> method.createForLoading(base, config, name));
        try {
            a.loadStateDict(tensors, weights);
        } catch (PeftException e) {
            a.remove();          // nothing of a directory that fails to load stays installed
            throw e.with("the adapter as " + cfgFile + " describes it");
        } catch (RuntimeException e) {
            a.remove();
            throw e;
        }
        adapters.put(name, a);
        return a;
    }

    /**
     * Loads the task head saved in {@code dir} ({@value #HEAD_CONFIG_FILE} and {@value #HEAD_WEIGHTS_FILE}, as
     * {@link #save} writes them beside adapters or a fully fine-tuned model) and makes it this model's head.
     */
    public Head loadHead(Path dir) {
        if (!Files.isRegularFile(dir.resolve(HEAD_CONFIG_FILE))) throw PeftException.inFile(dir, "no " + HEAD_CONFIG_FILE + " (no saved head)");
        head = readHead(dir);
        return head;
    }

    /**
     * Reads the task head saved in {@code dir} ({@value #HEAD_CONFIG_FILE} and {@value #HEAD_WEIGHTS_FILE}) for this
     * base without making it this model's head. Faults name the file.
     */
    public Head readHead(Path dir) {
        Path f = dir.resolve(HEAD_CONFIG_FILE);
        if (!Files.isRegularFile(f)) throw PeftException.inFile(dir, "no " + HEAD_CONFIG_FILE + " (no saved head)");
        JsonNode json = Json.read(f);
        Path w = dir.resolve(HEAD_WEIGHTS_FILE);
        if (!Files.isRegularFile(w)) throw PeftException.inFile(dir, "no " + HEAD_WEIGHTS_FILE + " beside " + HEAD_CONFIG_FILE);
        Map<String, INDArray> tensors = SafeTensors.readAll(w, base.dataType());
        Head h = backedBy(tensors, f, w, () -> Head.read(json, f, base.dataType()));
        long hidden = h.parameters().get("classifier.weight").size(1);
        if (hidden != base.config().hidden()) {
            throw PeftException.inFile(f, "head was made for hidden size " + hidden + ", this base has " + base.config().hidden());
        }
        try {
            h.load(tensors, w);
        } catch (PeftException e) {
            throw e.with("the head as " + f + " describes it");
        }
        return h;
    }

    /** Elements a config may ask for beyond what its weights file holds (4 MiB of float32). */
    private static final long UNBACKED_SLACK = 1 << 20;

    /**
     * Creates a module from its config ({@code create}) allowing it no more elements than the weights file
     * holds plus {@link #UNBACKED_SLACK}: a size field no file backs (an {@code r} or {@code num_virtual_tokens}
     * of millions) is refused by name before it allocates, while a small mismatch gets the per-tensor message
     * of {@link Adapter#loadStateDict}.
     */
    private static <T> T backedBy(Map<String, INDArray> tensors, Path configFile, Path weightsFile, java.util.function.Supplier<T> create) {
        long held = tensors.values().stream().mapToLong(INDArray::length).sum();
        java.util.function.Supplier<PeftException> fault = () -> PeftException.inFile(configFile, "describes more parameters than the "
                + held + " values in " + weightsFile.getFileName() + ": a size field (r, num_virtual_tokens, a hidden size, ...) does not match the weights");
        try {
            return Init.limited(held + UNBACKED_SLACK, fault, create);
        } catch (IllegalArgumentException e) {
            throw PeftException.inFile(configFile, e.getMessage());
        }
    }
}
