package io.peft4j.serve;

import io.peft4j.adapter.bottleneck.BottleneckConfig;
import io.peft4j.adapter.ia3.Ia3Config;
import io.peft4j.adapter.lora.LoraConfig;
import io.peft4j.core.Fixtures;
import io.peft4j.core.classify.HeadClassifier;
import io.peft4j.core.data.DataSpec;
import io.peft4j.core.data.TextEncoder;
import io.peft4j.core.data.Truncation;
import io.peft4j.core.head.ClassificationHead;
import io.peft4j.core.head.Pooling;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.Models;
import io.peft4j.core.peft.Adapter;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Tensor;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.prefix.PrefixTuningConfig;
import io.peft4j.prompt.classify.PromptClassifier;
import io.peft4j.prompt.ptuning.PTuningConfig;
import io.peft4j.prompt.task.ClassifierDirectory;
import io.peft4j.prompt.task.TaskConfig;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.tuning.PromptTuningConfig;
import io.peft4j.prompt.verbalizer.Verbalizer;
import org.nd4j.linalg.api.buffer.DataType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Base models with tokenizers (bert-tiny and gpt2-tiny with hand-made vocabularies that fit their tiny embedding
 * tables) and adapter directories of every kind, made with random non-trivial weights and heads and saved with the
 * writers {@code peft train} uses.
 */
final class ServeFixtures {
    private ServeFixtures() {
    }

    /** bert-tiny's 101 ids: WordPiece words the test sentences use, then fillers. */
    static final List<String> BERT_VOCAB;
    /** Words of {@link #BERT_VOCAB} that sentences are made of. */
    static final List<String> WORDS = List.of("the", "movie", "it", "was", "great", "terrible", "good", "bad", "awful", "fine", "a", "film", "is",
            "not", "super", "all", "in", "plot", "acting", "spam", "ham", "junk", "normal", "subject", "body");

    static {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                "the", "movie", "it", "was", "great", "terrible", "good", "bad", "awful", "fine", ".", ",", "a", "film", "is",
                "not", "##s", "super", "##b", "all", "in", "n", "/", "subject", "body", "spam", "ham", "junk", "normal", "plot", "acting"));
        while (v.size() < 101) v.add("x" + v.size());
        BERT_VOCAB = List.copyOf(v);
    }

    static final List<String> LABELS = List.of("negative", "neutral", "positive");
    static final String SENTIMENT_TEMPLATE = "{text} it was {mask} .";
    static final String SENTIMENT_WORDS = "positive=good,great;negative=bad,terrible";

    /** bert-tiny with a {@code vocab.txt}, as a model directory of its own under {@code tmp}. */
    static Path bertBase(Path tmp) {
        try {
            Path dir = Files.createDirectories(tmp.resolve("bert-tiny"));
            for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(Fixtures.dir("bert-tiny").resolve(f), dir.resolve(f));
            Files.write(dir.resolve("vocab.txt"), BERT_VOCAB);
            Json.write(dir.resolve("tokenizer_config.json"), Map.of("do_lower_case", true));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** gpt2-tiny with {@link Fixtures#gpt2TinyVocab()} as {@code vocab.json} and its merges as {@code merges.txt}. */
    static Path gpt2Base(Path tmp) {
        try {
            Path dir = Files.createDirectories(tmp.resolve("gpt2-tiny"));
            for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(Fixtures.dir("gpt2-tiny").resolve(f), dir.resolve(f));
            Json.write(dir.resolve("vocab.json"), Fixtures.gpt2TinyVocab());
            List<String> merges = new ArrayList<>(List.of("#version: 0.2"));
            merges.addAll(Fixtures.GPT2_TINY_MERGES);
            Files.write(dir.resolve("merges.txt"), merges);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static PeftModel model(Path base) {
        return PeftModel.of(Models.load(base, DataType.FLOAT), base.toString());
    }

    /** Moves every parameter of an adapter away from its (often identity) start, so that it changes the model. */
    static void perturb(Adapter a, long seed) {
        int i = 0;
        for (Tensor p : a.parameters().values()) p.value().addi(Init.normal(seed * 31 + i++, 0.3, p.dataType(), p.shape()));
    }

    /** A classification head with weights large enough that the classes differ clearly. */
    static ClassificationHead head(List<String> labels, long seed) {
        return head(labels, Pooling.CLS, seed);
    }

    static ClassificationHead head(List<String> labels, Pooling pooling, long seed) {
        ClassificationHead h = ClassificationHead.classification(pooling, labels, 32, DataType.FLOAT, seed);
        int i = 0;
        for (Tensor p : h.parameters().values()) p.value().addi(Init.normal(seed * 17 + i++, 1.0, p.dataType(), p.shape()));
        return h;
    }

    static TaskConfig task(Path base, List<String> labels, List<String> fields, String method) {
        return new TaskConfig(base.toString(), labels, DataSpec.defaults().withTextFields(fields.toArray(String[]::new)), 16, Truncation.END, method,
                Map.of());
    }

    /** A classifier with {@code config}'s adapter (null: none) and a head on the text fields {@code fields}. */
    static Path headClassifier(Path base, Path out, PeftConfig config, String method, List<String> fields, long seed) {
        return headClassifier(base, out, config, method, fields, LABELS, seed);
    }

    /** {@link #headClassifier(Path, Path, PeftConfig, String, List, long)} with the labels {@code labels}. */
    static Path headClassifier(Path base, Path out, PeftConfig config, String method, List<String> fields, List<String> labels, long seed) {
        PeftModel pm = model(base);
        if (config != null) perturb(pm.add(PeftModel.DEFAULT, config, seed), seed);
        pm.setHead(head(labels, pm.base().architecture().decoder() ? Pooling.LAST : Pooling.CLS, seed));
        Tokenizer tok = Tokenizers.load(base);
        HeadClassifier clf = new HeadClassifier(pm, new TextEncoder(tok, fields, 16, Truncation.END));
        ClassifierDirectory.write(out, pm, clf, task(base, labels, fields, method), null, base);
        return out;
    }

    /** A classifier with {@code config}'s adapter (null: none), a template and a verbalizer. */
    static Path templateClassifier(Path base, Path out, PeftConfig config, String method, String template, String verbalizer, long seed) {
        PeftModel pm = model(base);
        if (config != null) perturb(pm.add(PeftModel.DEFAULT, config, seed), seed);
        Verbalizer v = Verbalizer.parse(verbalizer);
        PromptClassifier clf = PromptClassifier.builder(pm, Tokenizers.load(base), Template.parse(template)).verbalizer(v).maxLength(16).seed(seed).build();
        for (Adapter a : pm.adapters()) if (a.name().equals(PromptClassifier.SOFT_TOKENS)) perturb(a, seed + 5);
        ClassifierDirectory.write(out, pm, clf, task(base, v.labels(), List.of("text"), method), null, base);
        return out;
    }

    /** A classifier with {@code config}'s adapter, a template and a head reading the mask's hidden state. */
    static Path templateHeadClassifier(Path base, Path out, PeftConfig config, String method, String template, long seed) {
        PeftModel pm = model(base);
        if (config != null) perturb(pm.add(PeftModel.DEFAULT, config, seed), seed);
        pm.setHead(head(LABELS, seed));
        PromptClassifier clf = PromptClassifier.builder(pm, Tokenizers.load(base), Template.parse(template)).head(PromptClassifier.HeadInput.MASK)
                .maxLength(16).seed(seed).build();
        ClassifierDirectory.write(out, pm, clf, task(base, LABELS, List.of("text"), method), null, base);
        return out;
    }

    /** A plain Hugging Face PEFT adapter directory. */
    static Path plainAdapter(Path base, Path out, PeftConfig config, long seed) {
        PeftModel pm = model(base);
        perturb(pm.add(PeftModel.DEFAULT, config, seed), seed);
        pm.save(out);
        return out;
    }

    /** The classifier directories of every method {@link #classifiers} makes, by adapter name. */
    static Map<String, Path> classifiers(Path base, Path tmp) {
        Map<String, Path> m = new LinkedHashMap<>();
        m.put("lora", headClassifier(base, tmp.resolve("lora"), LoraConfig.defaults().withR(4), "lora", List.of("text"), 1));
        m.put("ia3", headClassifier(base, tmp.resolve("ia3"), Ia3Config.defaults(), "ia3", List.of("text"), 2));
        m.put("bottleneck", headClassifier(base, tmp.resolve("bottleneck"), BottleneckConfig.of(BottleneckConfig.Architecture.PFEIFFER).withReductionFactor(4),
                "bottleneck", List.of("text"), 3));
        m.put("prompt", headClassifier(base, tmp.resolve("prompt"), PromptTuningConfig.random(4), "prompt_tuning", List.of("text"), 4));
        m.put("prefix", templateClassifier(base, tmp.resolve("prefix"), PrefixTuningConfig.of(3), "prefix_tuning", SENTIMENT_TEMPLATE, SENTIMENT_WORDS, 5));
        m.put("ptuning", headClassifier(base, tmp.resolve("ptuning"), PTuningConfig.mlp(3, 16), "p_tuning", List.of("text"), 6));
        m.put("soft", templateClassifier(base, tmp.resolve("soft"), null, "none", "{soft} {soft} " + SENTIMENT_TEMPLATE, SENTIMENT_WORDS, 7));
        m.put("prompt-verbalizer", templateClassifier(base, tmp.resolve("prompt-verbalizer"), PromptTuningConfig.random(5), "prompt_tuning",
                SENTIMENT_TEMPLATE, SENTIMENT_WORDS, 8));
        m.put("lora-mask-head", templateHeadClassifier(base, tmp.resolve("lora-mask-head"), LoraConfig.defaults().withR(2), "lora", SENTIMENT_TEMPLATE, 9));
        m.put("pair", headClassifier(base, tmp.resolve("pair"), LoraConfig.defaults().withR(2), "lora", List.of("subject", "body"), 10));
        m.put("head-only", headClassifier(base, tmp.resolve("head-only"), null, "none", List.of("text"), 11));
        return m;
    }

    /** A sentence of 2 to 9 words of {@link #WORDS}. */
    static String sentence(Random rnd) {
        int n = 2 + rnd.nextInt(8);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(WORDS.get(rnd.nextInt(WORDS.size())));
        return sb.toString();
    }

    /** An input for {@code adapter} ({@code pair} reads subject and body, the others text). */
    static Map<String, String> input(String adapter, Random rnd) {
        return adapter.equals("pair") ? Map.of("subject", sentence(rnd), "body", sentence(rnd)) : Map.of("text", sentence(rnd));
    }
}
