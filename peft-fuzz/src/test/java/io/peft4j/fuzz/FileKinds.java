package io.peft4j.fuzz;

import io.peft4j.core.Fixtures;
import io.peft4j.core.PeftException;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.Datasets;
import io.peft4j.core.data.Labels;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.TextRecord;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.eval.ClassificationReport;
import io.peft4j.core.head.Pooling;
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
import io.peft4j.core.tokenizer.hf.ChatTemplate;
import io.peft4j.instruct.InstructTask;
import io.peft4j.instruct.Instruction;
import io.peft4j.instruct.InstructionModel;
import io.peft4j.instruct.InstructionSet;
import io.peft4j.instruct.Instructions;
import io.peft4j.instruct.encoding.InstructionBatch;
import io.peft4j.instruct.encoding.InstructionEncoder;
import io.peft4j.instruct.encoding.InstructionEncoding;
import io.peft4j.instruct.hyper.HyperLoraMethod;
import io.peft4j.probe.FeatureCache;
import io.peft4j.probe.FeatureKey;
import io.peft4j.probe.Features;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.task.TaskConfig;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

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
            new FileKind("config-llama", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_LLAMA), d, CONFIG, "model.safetensors"),
                    List.of(CONFIG), FileKinds::model),
            new FileKind("config-qwen2", (d, r) -> Seeds.copy(r.resolve(Seeds.BASE_QWEN2), d, CONFIG, "model.safetensors"),
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
            new FileKind("instruction-prefix", Seeds::instructionPrefix, List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), FileKinds::instructionAdapter),
            new FileKind("hyper-lora", Seeds::hyperLora, List.of(ADAPTER_CONFIG, ADAPTER_WEIGHTS), FileKinds::instructionAdapter),
            new FileKind("head", Seeds::head, List.of("head_config.json", "head.safetensors"), FileKinds::head),
            new FileKind("vocab-txt", Seeds::vocabTxt, List.of("vocab.txt"), FileKinds::tokenizer),
            new FileKind("tokenizer-config", Seeds::vocabTxt, List.of("tokenizer_config.json"), FileKinds::tokenizer),
            new FileKind("bpe", Seeds::bpe, List.of("vocab.json", "merges.txt"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-wordpiece", Seeds::wordPieceTokenizerJson, List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-bpe", Seeds::bpeTokenizerJson, List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-sp", Seeds::sentencePieceTokenizerJson, List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-llama3", (d, r) -> Seeds.byteLevelTokenizerJson(d, false), List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("tokenizer-json-qwen", (d, r) -> Seeds.byteLevelTokenizerJson(d, true), List.of("tokenizer.json"), FileKinds::tokenizer),
            new FileKind("chat-template", (d, r) -> Seeds.byteLevelTokenizerJson(d, true), List.of("tokenizer_config.json"), FileKinds::chatTemplate),
            new FileKind("dataset-jsonl", Seeds::jsonLines, List.of("train.jsonl"), (d, env) -> dataset(d.resolve("train.jsonl"), env)),
            new FileKind("dataset-csv", Seeds::csv, List.of("train.csv"), (d, env) -> dataset(d.resolve("train.csv"), env)),
            new FileKind("dataset-tsv", Seeds::tsv, List.of("train.tsv"), (d, env) -> dataset(d.resolve("train.tsv"), env)),
            new FileKind("template-json", Seeds::template, List.of(Template.FILE), FileKinds::template),
            new FileKind("templates-txt", Seeds::templates, List.of("templates.txt"), FileKinds::templates),
            new FileKind("verbalizer-json", Seeds::verbalizer, List.of(Verbalizer.FILE), FileKinds::verbalizer),
            new FileKind("classifier-dir-prompt", Seeds::promptClassifier, List.of(TaskConfig.FILE, TaskConfig.FILE, Template.FILE, Verbalizer.FILE),
                    FileKinds::classifierDirectory),
            new FileKind("classifier-dir-head", Seeds::headClassifier, List.of(TaskConfig.FILE, TaskConfig.FILE, PeftModel.HEAD_CONFIG_FILE),
                    FileKinds::classifierDirectory),
            new FileKind("feature-cache", Seeds::featureCache, List.of(Seeds.FEATURE_CACHE), FileKinds::featureCache),
            new FileKind("instructions-json", Seeds::instructions, List.of(Seeds.INSTRUCTIONS), FileKinds::instructions));

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

    /**
     * An instruction-conditioned adapter (instruction prefix, LoRA hypernetwork) loaded onto the WordPiece base, then run on a
     * batch whose first row follows an instruction and whose second follows none; a hypernetwork's LoRA for that
     * instruction is also exported, loaded back and run.
     */
    static void instructionAdapter(Path dir, FileKind.Env env) {
        Path base = env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE);
        TransformerModel m = Models.load(base, DataType.FLOAT);
        Tokenizer tok = Tokenizers.load(base);
        PeftModel p = PeftModel.of(m);
        var a = p.load(dir, "default");
        env.running();
        InstructionEncoding e = InstructionEncoder.encode(m, tok, "was the film good? say yes or no.");
        ForwardContext ctx = ForwardContext.inference(2).with(InstructionBatch.class, new InstructionBatch(List.of(e), new int[]{0, -1}));
        m.lmLogits(p.forward(batch(m), ctx).hidden());
        if (a instanceof HyperLoraMethod.HyperLora h) {
            Path out = dir.resolve("generated");
            h.exportLora(e, "bert-tiny", out);
            PeftModel q = PeftModel.of(Models.load(base, DataType.FLOAT));
            q.load(out, "generated");
            q.forward(batch(m), ForwardContext.inference(2));
        }
    }

    /**
     * An instruction file read, made the instructions of a task of the seed's labelled texts, its label words bound to the
     * WordPiece base's tokenizer; then every instruction scores two dev records as a template on the frozen base (the
     * template scheme) and as its carrier (the other schemes' input), and its text is encoded.
     */
    static void instructions(Path dir, FileKind.Env env) {
        InstructionSet set = Instructions.read(dir.resolve(Seeds.INSTRUCTIONS));
        Path base = env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE);
        Tokenizer tok = Tokenizers.load(base);
        InstructTask task = InstructTask.of(set.task(), List.of("text"), Seeds.records(Seeds.TRAIN, "train.jsonl"), Seeds.records(Seeds.DEV, "dev.jsonl"), set);
        task.instructions().checkTokenizer(tok);
        PeftModel model = PeftModel.of(Models.load(base, DataType.FLOAT));
        InstructionModel im = InstructionModel.base(model, tok, 40);
        for (Instruction i : task.instructions().instructions()) im.classifier(i);
        env.running();
        for (Instruction i : task.instructions().instructions()) {
            ClassificationReport r = im.evaluate(i, task.dev(), 2);
            if (r.n() != task.dev().size()) throw new AssertionError(i.id() + ": a report on " + r.n() + " records, not " + task.dev().size());
            PromptClassifier carrier = PromptClassifier.builder(model, tok, i.carrier()).verbalizer(i.verbalizer()).maxLength(40).build();
            checkLogProbabilities(carrier.logProbabilities(Seeds.PROMPT_RECORDS, 2), 2, carrier.labels());
            InstructionEncoder.encode(model.base(), tok, i.text());
        }
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

    /** The tokenizer, then its {@code tokenizer_config.json}'s chat template rendered (with a tool) and encoded. */
    static void chatTemplate(Path dir, FileKind.Env env) {
        Tokenizer t = Tokenizers.load(dir);
        ChatTemplate chat = ChatTemplate.fromConfig(dir.resolve("tokenizer_config.json"));
        env.running();
        var messages = List.of(ChatTemplate.message("system", "Be brief."), ChatTemplate.message("user", TEXT), ChatTemplate.message("assistant", "<think>x</think>ok"));
        chat.encode(t, messages, true, java.util.Map.of("tools", List.of(java.util.Map.of("name", "f", "parameters", java.util.Map.of()))));
        chat.render(messages.subList(0, 2), false);
    }

    /** A data file read with the default spec (text, label), then encoded for classification with the WordPiece seed. */
    static void dataset(Path file, FileKind.Env env) {
        List<TextRecord> records = Datasets.read(file, DataSpec.defaults());
        env.running();
        Tokenizer t = Tokenizers.load(env.seeds().resolve("vocab-txt"));
        new TextEncoder(t, List.of("text"), 16, Truncation.START).classification(records, Labels.of(records));
    }

    /** {@code template.json} read, bound on tiny BERT with a fixed verbalizer, and two records scored. */
    static void template(Path dir, FileKind.Env env) {
        Template t = Template.read(dir.resolve(Template.FILE));
        Path base = env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE);
        PromptClassifier clf = PromptClassifier.of(PeftModel.of(Models.load(base, DataType.FLOAT)), Tokenizers.load(base), t,
                Verbalizer.parse(Seeds.VERBALIZER));
        env.running();
        checkLogProbabilities(clf.logProbabilities(Seeds.PROMPT_RECORDS, 2), 2, clf.labels());
    }

    /** A candidate-template file ({@code peft mine --templates}) read, then each template bound on tiny BERT and one record scored. */
    static void templates(Path dir, FileKind.Env env) {
        var candidates = io.peft4j.prompt.mining.TemplateCandidates.read(dir.resolve("templates.txt"));
        Path base = env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE);
        PeftModel model = PeftModel.of(Models.load(base, DataType.FLOAT));
        Tokenizer tok = Tokenizers.load(base);
        env.running();
        for (var c : candidates) {
            try {                                          // as the template search reports a candidate: by its file and line
                PromptClassifier clf = PromptClassifier.of(model, tok, io.peft4j.prompt.task.ClassifierTraining.forData(c.template(), List.of("review")),
                        Verbalizer.parse(Seeds.VERBALIZER));
                checkLogProbabilities(clf.logProbabilities(Seeds.PROMPT_RECORDS.subList(0, 1), 1), 1, clf.labels());
            } catch (PeftException e) {
                throw c.error(e.getMessage());
            }
        }
    }

    /** {@code verbalizer.json} read, bound on tiny BERT with a fixed template, and two records scored. */
    static void verbalizer(Path dir, FileKind.Env env) {
        Verbalizer v = Verbalizer.read(dir.resolve(Verbalizer.FILE));
        Path base = env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE);
        PromptClassifier clf = PromptClassifier.of(PeftModel.of(Models.load(base, DataType.FLOAT)), Tokenizers.load(base),
                Template.parse(Seeds.TEMPLATE), v);
        env.running();
        checkLogProbabilities(clf.logProbabilities(Seeds.PROMPT_RECORDS, 2), 2, clf.labels());
    }

    /**
     * A trained classifier's directory loaded as {@code peft eval} / {@code predict} load it (on the tiny BERT base), two
     * records classified, and (a head classifier) two labelled records evaluated.
     */
    static void classifierDirectory(Path dir, FileKind.Env env) {
        ClassifierDirectory.Loaded c = ClassifierDirectory.load(dir, env.seeds().resolve(Seeds.BASE_BERT_WORDPIECE).toString());
        env.running();
        checkLogProbabilities(c.classifier().logProbabilities(Seeds.PROMPT_RECORDS, 2), 2, c.classifier().labels());
        if (c.classifier() instanceof HeadClassifier h) {
            ClassificationReport r = h.evaluate(Seeds.records(Seeds.DEV, "dev.jsonl"), 2);
            if (r.n() != Seeds.DEV.size()) throw new AssertionError("evaluate reported on " + r.n() + " records, not " + Seeds.DEV.size());
        }
    }

    /**
     * A probe feature cache read under the key of the seed's texts, computed here as {@code peft probe} computes it. The
     * cache's contract: a foreign or damaged file is not used ({@code read} is empty and the caller rebuilds it), so
     * an empty answer counts as the file rejected; features it does return must have the key's shape.
     */
    static void featureCache(Path dir, FileKind.Env env) {
        Path file = dir.resolve(Seeds.FEATURE_CACHE);
        FeatureKey key = featureKey(env.seeds());
        Optional<Features> read = new FeatureCache(file).read(key);
        if (read.isEmpty()) throw PeftException.inFile(file, "not used (FeatureCache.read found it foreign or damaged; a caller rebuilds it)");
        env.running();
        Features f = read.get();
        int rows = Seeds.FEATURE_TEXTS.size(), dim = 32;     // one row per text; bert-tiny's hidden size
        if (f.rows() != rows || f.dim() != dim || !f.layers().equals(Seeds.FEATURE_LAYERS) || !f.poolings().equals(Seeds.FEATURE_POOLINGS)) {
            throw new AssertionError("read features of " + f.rows() + " x " + f.dim() + " for layers " + f.layers() + " x " + f.poolings()
                    + ", not " + rows + " x " + dim + " for " + Seeds.FEATURE_LAYERS + " x " + Seeds.FEATURE_POOLINGS);
        }
        for (int l : Seeds.FEATURE_LAYERS) {
            for (Pooling p : Seeds.FEATURE_POOLINGS) {
                if (f.matrix(l, p).length != rows * dim) {
                    throw new AssertionError("layer " + l + " " + p + ": a matrix of " + f.matrix(l, p).length + " values, not " + rows + " x " + dim);
                }
            }
        }
    }

    private static FeatureKey featureKey;
    private static Path featureKeySeeds;

    /** The feature key of the seed's texts (computed once per JVM: loading the model and hashing it takes longer than a case). */
    private static synchronized FeatureKey featureKey(Path seeds) {
        if (featureKey == null || !featureKeySeeds.equals(seeds)) {
            Path base = seeds.resolve(Seeds.BASE_BERT_WORDPIECE);
            featureKey = Seeds.featureKey(Models.load(base, DataType.FLOAT), Tokenizers.load(base));
            featureKeySeeds = seeds;
        }
        return featureKey;
    }

    /**
     * Checks what a loaded classifier answered: one row per record, one natural-log probability per label, each row a
     * distribution (its probabilities sum to 1).
     */
    private static void checkLogProbabilities(double[][] lp, int records, List<String> labels) {
        if (lp.length != records) throw new AssertionError(lp.length + " rows of log-probabilities for " + records + " records");
        for (double[] row : lp) {
            double sum = 0;
            for (double x : row) sum += Math.exp(x);
            if (row.length != labels.size() || !(Math.abs(sum - 1) < 1e-4)) {
                throw new AssertionError("log-probabilities " + Arrays.toString(row) + " for labels " + labels + " (probabilities sum to " + sum + ")");
            }
        }
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
