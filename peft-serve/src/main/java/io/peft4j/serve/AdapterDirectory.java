package io.peft4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.core.PeftException;
import io.peft4j.core.io.Json;
import io.peft4j.core.io.SafeTensors;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.prompt.soft.SoftTokensConfig;
import io.peft4j.prompt.task.TaskConfig;
import io.peft4j.prompt.template.Template;
import io.peft4j.serve.AdapterRegistry.Meta;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static io.peft4j.serve.AdapterRegistry.CLASSIFY;
import static io.peft4j.serve.AdapterRegistry.FILL_MASK;
import static io.peft4j.serve.AdapterRegistry.GENERATE;

/**
 * What an adapter directory given to {@link AdapterRegistry} is, read from its files before any weight is loaded: a
 * trained classifier ({@code task.json}), a plain PEFT or AdapterHub adapter ({@code adapter_config.json}), or something
 * the registry refuses (a fully fine-tuned model, a template's soft tokens alone, a directory outside the adapter root).
 * Stateless; the registry calls it when an adapter is registered, and checks the root again before each load.
 */
final class AdapterDirectory {
    private AdapterDirectory() {
    }

    /**
     * With an adapter root ({@link AdapterRegistry.Options#adapterRoot()}; null: none): {@code dir} must lie under the
     * root, and so must the real path of every entry under it ({@link AdapterRootCheck}: a symbolic link leading outside
     * is {@code FORBIDDEN}). Checked at registration and again before each load, since a lazy (re)load reads the
     * directory much later.
     */
    static void checkRoot(Path dir, Path root) {
        if (root == null) return;
        Path abs = dir.toAbsolutePath().normalize();
        Path realRoot;
        try {
            realRoot = root.toRealPath();
        } catch (IOException e) {
            throw new ServeException(ServeException.Kind.FORBIDDEN, dir + ": the adapter root " + root + " cannot be read");
        }
        if (!abs.startsWith(root) || abs.equals(root)) {
            throw new ServeException(ServeException.Kind.FORBIDDEN, dir + ": adapter directories must lie under " + root);
        }
        if (!Files.exists(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;      // "not a directory", below
        try {
            AdapterRootCheck.check(realRoot, abs, dir.toString());
        } catch (ServeException e) {
            throw new ServeException(e.kind(), e.getMessage() + " (the adapter root: " + root + ")");
        }
    }

    /**
     * What {@code dir} holds, from its config files (no weights are loaded; the saved parameters are counted from the
     * safetensors headers); faults name the file. A plain adapter serves {@code generate} on a decoder base
     * ({@code decoder}), {@code fill-mask} on an encoder. The directory is first checked against {@code adapterRoot}
     * ({@link #checkRoot}).
     */
    static Meta inspect(Path dir, boolean decoder, Path adapterRoot) {
        checkRoot(dir, adapterRoot);
        if (!Files.isDirectory(dir)) throw PeftException.inFile(dir, "not a directory");
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            throw PeftException.inFile(dir, "has its own config.json: a fully fine-tuned model is a whole model, not an adapter, and cannot share the "
                    + "base model; serve it as a base model of its own");
        }
        long params = savedParameters(dir);
        if (Files.isRegularFile(dir.resolve(TaskConfig.FILE))) {
            TaskConfig task = TaskConfig.read(dir.resolve(TaskConfig.FILE));
            Path tf = dir.resolve(Template.FILE);
            List<String> fields = Files.isRegularFile(tf) ? Template.read(tf).recordFields() : task.data().textFields();
            return new Meta(CLASSIFY, task.method(), task.labels(), fields, params, 0);
        }
        Path cfg = dir.resolve(PeftModel.CONFIG_FILE);
        if (!Files.isRegularFile(cfg)) {
            throw PeftException.inFile(dir, "not an adapter directory (no " + PeftModel.CONFIG_FILE + ") and not a trained classifier (no " + TaskConfig.FILE + ")");
        }
        JsonNode json = Json.read(cfg);
        String type = json.hasNonNull("peft_type") ? json.get("peft_type").asText() : json.path("config").isObject() ? "BOTTLENECK" : null;
        if (type == null) throw PeftException.inFile(cfg, "no 'peft_type' (Hugging Face PEFT) and no 'config' object (AdapterHub)");
        if (type.equals(SoftTokensConfig.PEFT_TYPE)) {
            throw PeftException.inFile(cfg, "a template's soft tokens are not an adapter of their own: serve the classifier directory they belong to");
        }
        return new Meta(decoder ? GENERATE : FILL_MASK, type.toLowerCase(Locale.ROOT), List.of(), List.of(), params, json.path("num_virtual_tokens").asInt(0));
    }

    /** The values in the directory's safetensors files (and its subdirectories', a template's soft tokens). */
    private static long savedParameters(Path dir) {
        try (Stream<Path> files = Files.walk(dir, 2)) {
            long n = 0;
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p)).toList()) {
                try (SafeTensors st = SafeTensors.open(f)) {
                    for (SafeTensors.Entry e : st.entries().values()) {
                        long k = 1;
                        for (long s : e.shape()) k *= s;
                        n += k;
                    }
                }
            }
            return n;
        } catch (IOException e) {
            throw PeftException.inFile(dir, "cannot list the directory: " + e.getMessage());
        }
    }
}
