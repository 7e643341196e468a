package io.peft4j.fuzz;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.hooks.ForwardContext;
import io.peft4j.core.io.Checkpoint;
import io.peft4j.core.model.Batch;
import io.peft4j.core.model.ModelOutput;
import io.peft4j.core.model.Models;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Encoding;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The registry of {@link FileKind}s and their load-and-run actions. */
final class FileKinds {
    /** The text every tokenizer encodes and decodes: Latin with accents, Cyrillic, CJK, emoji, specials. */
    static final String TEXT = "Hello, world! Grüße aus Köln; привет мир; 你好，世界; こんにちは 🙂 [MASK] don't <|endoftext|> 3.14";

    private static final String CONFIG = "config.json", ADAPTER_CONFIG = "adapter_config.json", ADAPTER_WEIGHTS = "adapter_model.safetensors";

    static final List<FileKind> ALL = List.of(
            new FileKind("safetensors", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_GPT2), d, CONFIG, "model.safetensors"),
                    List.of("model.safetensors"), FileKinds::model),
            new FileKind("safetensors-bert", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_BERT), d, CONFIG, "model.safetensors"),
                    List.of("model.safetensors"), FileKinds::model),
            new FileKind("sharded", Seeds::sharded, List.of("model.safetensors.index.json", "model.safetensors.index.json",
                    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"), FileKinds::model),
            new FileKind("tf-bundle", Seeds::tfBundle, List.of("variables/variables.index", "variables/variables.index",
                    "variables/variables.index", "variables/variables.data-00000-of-00001"), FileKinds::model),
            new FileKind("config-bert", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_BERT), d, CONFIG, "model.safetensors"),
                    List.of(CONFIG), FileKinds::model),
            new FileKind("config-gpt2", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_GPT2), d, CONFIG, "model.safetensors"),
                    List.of(CONFIG), FileKinds::model),
            new FileKind("lora", (d, r) -> Seeds.copy(Fixtures.dir("gpt2-tiny-lora"), d, ADAPTER_CONFIG, ADAPTER_WEIGHTS),
                    List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), (d, env) -> adapter(d, env, Seeds.BASE_GPT2)),
            new FileKind("ia3", Seeds::ia3, List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), (d, env) -> adapter(d, env, Seeds.BASE_GPT2)),
            new FileKind("prompt-tuning", (d, r) -> Seeds.copy(Fixtures.dir("gpt2-tiny-prompt"), d, ADAPTER_CONFIG, ADAPTER_WEIGHTS),
                    List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), (d, env) -> adapter(d, env, Seeds.BASE_GPT2)),
            new FileKind("p-tuning", Seeds::pTuning, List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), (d, env) -> adapter(d, env, Seeds.BASE_GPT2)),
            new FileKind("prefix-tuning", (d, r) -> Seeds.copy(Fixtures.dir("gpt2-tiny-prefix"), d, ADAPTER_CONFIG, ADAPTER_WEIGHTS),
                    List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), (d, env) -> adapter(d, env, Seeds.BASE_GPT2)),
            new FileKind("bottleneck", Seeds::bottleneck, List.of(ADAPTER_CONFIG, "pytorch_adapter.safetensors"),
                    (d, env) -> adapter(d, env, Seeds.BASE_BERT)),
            new FileKind("head", Seeds::head, List.of("head_config.json", "head.safetensors"), FileKinds::head),
            new FileKind("vocab-txt", Seeds::vocabTxt, List.of("vocab.txt"), FileKinds::tokenizer),
            new FileKind("tokenizer-config", Seeds::vocabTxt, List.of("tokenizer_config.json"), FileKinds::tokenizer),
            new FileKind("bpe", Seeds::bpe, List.of("vocab.json", "merges.txt"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-wordpiece", Seeds::wordPieceTokenizerJson, List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-bpe", Seeds::bpeTokenizerJson, List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("dataset-jsonl", Seeds::jsonLines, List.of("train.jsonl"), (d, env) -> dataset(d.resolve("train.jsonl"), env)),
            new FileKind("dataset-csv", Seeds::csv, List.of("train.csv"), (d, env) -> dataset(d.resolve("train.csv"), env)),
            new FileKind("dataset-tsv", Seeds::tsv, List.of("train.tsv"), (d, env) -> dataset(d.resolve("train.tsv"), env)));

    private FileKinds() {
    }

    static FileKind byName(String name) {
        for (FileKind k : ALL) if (k.name().equals(name)) return k;
        throw new IllegalArgumentException("no file kind '" + name + "' (kinds: " + ALL.stream().map(FileKind::name).toList() + ")");
    }

    // ------------------------------------------------------------------ actions

    /** Every tensor of the checkpoint read and checked, then the model loaded and run (forward and LM logits). */
    static void model(Path dir, FileKind.Env env) throws Exception {
        long bytes;
        try (var files = java.nio.file.Files.walk(dir)) {
            bytes = files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        try (Checkpoint c = Models.openCheckpoint(dir)) {
            for (String name : c.names()) {
                INDArray a = c.load(name, DataType.FLOAT);
                touch(a, c.shape(name), bytes, c.fileOf(name).replace(dir + "/", "") + " '" + name + "'");
            }
        }
        TransformerModel m = Models.load(dir, DataType.FLOAT);
        env.running();
        ModelOutput out = m.forward(batch(m), ForwardContext.inference(2));
        try {
            m.lmLogits(out.hidden());
        } catch (PeftException e) {
            // a BERT checkpoint without the masked-LM head (BertModel's) is valid; it has no LM logits to give
            if (!e.getMessage().contains("no masked-LM head")) throw e;
        }
    }

    /** The adapter in {@code dir} loaded onto a fresh base (and a head beside it, if any), then run. */
    static void adapter(Path dir, FileKind.Env env, String base) {
        TransformerModel m = Models.load(env.seeds().resolve(base), DataType.FLOAT);
        PeftModel p = PeftModel.of(m);
        p.load(dir, "default");
        env.running();
        ModelOutput out = p.forward(batch(m), ForwardContext.inference(2));
        m.lmLogits(out.hidden());
    }

    static void head(Path dir, FileKind.Env env) {
        TransformerModel m = Models.load(env.seeds().resolve(Seeds.BASE_BERT), DataType.FLOAT);
        PeftModel p = PeftModel.of(m);
        p.loadHead(dir);
        env.running();
        ForwardContext ctx = ForwardContext.inference(2);
        p.headLogits(p.forward(batch(m), ctx), ctx);
    }

    static void tokenizer(Path dir, FileKind.Env env) {
        Tokenizer t = Tokenizers.load(dir);
        env.running();
        Encoding e = t.encode(TEXT);
        t.decode(e.ids(), false);
        t.decode(e.ids(), true);
        t.encodeBatch(List.of(TEXT, "a"), 16);
        t.encode("first segment", "second", 8);
    }

    /** A data file read with the default spec (text, label), then encoded for classification with the WordPiece seed. */
    static void dataset(Path file, FileKind.Env env) {
        List<TextRecord> records = Datasets.read(file, DataSpec.defaults());
        env.running();
        Tokenizer t = Tokenizers.load(env.seeds().resolve("vocab-txt"));
        new TextEncoder(t, List.of("text"), 16, Truncation.START).classification(records, Labels.of(records));
    }

    /** Two rows of token ids below the vocabulary size, the second one padded; BERT gets two segments. */
    private static Batch batch(TransformerModel m) {
        int v = m.config().vocabSize(), t = m.config().typeVocabSize();
        int[][] ids = {{1 % v, 5 % v, 9 % v, 2 % v}, {3 % v, 7 % v, 0, 0}};
        int[][] types = t > 1 ? new int[][]{{0, 0, 1, 1}, {0, 1, 0, 0}} : null;
        return new Batch(ids, types, new int[][]{{1, 1, 1, 1}, {1, 1, 0, 0}});
    }

    /**
     * Checks that a loaded array is what the checkpoint says and could have come from its files: every element takes
     * at least one byte there, so an array claiming more elements than the checkpoint's files have bytes is backed by
     * less memory than it claims, and reading it reads outside native memory (issue 14's SIGSEGV). Then reads its
     * first, middle and last element.
     */
    private static void touch(INDArray a, long[] shape, long bytes, String what) {
        if (!Arrays.equals(a.shape(), shape)) {
            throw new AssertionError(what + ": Checkpoint.shape says " + Arrays.toString(shape) + ", load returned " + Arrays.toString(a.shape()));
        }
        long n = a.length();
        if (n > bytes) {
            throw new AssertionError(what + ": Checkpoint.load returned an array of shape " + Arrays.toString(a.shape()) + " (" + n
                    + " elements) from files of " + bytes + " bytes");
        }
        if (n == 0) return;
        a.getDouble(0L);
        a.getDouble(n / 2);
        a.getDouble(n - 1);
    }
}
