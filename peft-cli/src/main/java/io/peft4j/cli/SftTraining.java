package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.hub.ModelHub;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;
import io.peft4j.core.model.TransformerModel;
import io.peft4j.core.peft.PeftConfig;
import io.peft4j.core.peft.PeftModel;
import io.peft4j.core.tokenizer.Tokenizer;
import io.peft4j.core.tokenizer.Tokenizers;
import io.peft4j.core.train.Example;
import io.peft4j.core.train.Objectives;
import io.peft4j.core.train.Schedule;
import io.peft4j.core.train.Trainer;
import io.peft4j.core.train.TrainingConfig;
import io.peft4j.core.train.TrainingListener;
import io.peft4j.core.train.TrainingResult;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.InstructionFiles;
import io.peft4j.sft.data.InstructionFormat;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.encode.ConversationEncoder;
import io.peft4j.sft.encode.LengthPolicy;
import io.peft4j.sft.encode.Packing;
import io.peft4j.sft.eval.ResponseLoss;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code peft train --format alpaca|chat|completion}: instruction tuning of a decoder. The conversations are rendered
 * with the chat format, encoded with the loss on the responses (or on every token) and cut by the length policy, and
 * the method trains with the causal-LM loss (with {@code --pack}, on rows of several examples that the decoder keeps
 * apart: each attends within itself and counts its positions from 0, so a row trains as its examples would); with {@code --dev}, the held-out responses' loss and perplexity before
 * and after. {@code --output} gets the adapter in Hugging Face PEFT's layout and {@value Sft#FILE}, written whole or
 * not at all.
 */
final class SftTraining {
    private SftTraining() {
    }

    static void run(TrainCommand c, Schedule sched) {
        refuseClassifierOptions(c);
        InstructionFormat format = Sft.format(c.format);
        ConversationEncoder.LossOn lossOn = Sft.lossOn(c.lossOn);
        LengthPolicy policy = Sft.policy(c.truncation);
        // the data before the model: bad data fails fast
        List<Conversation> train = limit(InstructionFiles.read(Path.of(c.data.data), format), c.data.limit);
        List<Conversation> dev = c.dev == null ? List.of() : limit(InstructionFiles.read(Path.of(c.dev), format), c.data.limit);
        Path dir = ModelHub.resolve(c.model);
        c.checkOutput(dir);
        TransformerModel base = Sft.decoder(dir, "train --format");
        Tokenizer tok = Tokenizers.load(dir);
        ChatFormat chat = Sft.chatFormat(dir, c.chatTemplate, tok, format);
        int positions = base.config().maxPositions();
        int maxLength = c.maxLength != null ? c.maxLength : Math.min(positions, 512);
        if (maxLength > positions) throw new PeftException("--max-length " + maxLength + " is more than the model's " + positions + " positions");
        ConversationEncoder.Encoding data = new ConversationEncoder(chat, maxLength, lossOn, policy).encodeAll(train);
        // --pack: the examples (already within --max-length) in rows of at most --max-length, kept apart by segments
        Packing.Packed packed = c.pack ? Packing.pack(data.examples(), maxLength, policy) : null;
        List<Example.Lm> trainExamples = packed != null ? packed.examples() : data.examples();
        ConversationEncoder.Encoding heldOut = dev.isEmpty() ? null
                : new ConversationEncoder(chat, maxLength, ConversationEncoder.LossOn.RESPONSES, policy).encodeAll(dev);

        PeftModel peft = PeftModel.of(base, c.model);
        PeftConfig method = c.method.config(base.config().hidden());
        if (method != null) {
            peft.add(PeftModel.DEFAULT, method, c.seed);
        } else if (c.method.full()) {
            peft.unfreezeBase();
        } else {
            throw new PeftException("--method none trains nothing on a decoder without a head: choose lora, ia3, prompt, ptuning, prefix, adapter or full");
        }
        TrainingConfig cfg;
        try {
            cfg = TrainingConfig.defaults().withLearningRate(c.lr != null ? c.lr : c.method.full() ? 3e-5 : 5e-4).withWarmup(c.warmup, sched)
                    .withBatchSize(c.batchSize, c.accumulation).withEpochs(c.epochs).withMaxSteps(c.maxSteps).withSeed(c.seed)
                    .withEvaluation(c.evalEvery, c.patience).withCheckpoints(c.checkpointDir, 0, c.resume);
        } catch (IllegalArgumentException e) {
            throw new PeftException(e.getMessage());
        }
        PrintWriter err = c.spec.commandLine().getErr();
        int evalBatch = Math.max(c.batchSize, 8);
        List<Example.Lm> devExamples = heldOut == null ? null : heldOut.examples();
        ResponseLoss.Result before = devExamples == null ? null : ResponseLoss.evaluate(peft, devExamples, evalBatch);
        long t0 = System.nanoTime();
        TrainingResult result;
        try (Progress bar = Progress.start("train", 1, c.progress.on())) {
            Trainer<Example.Lm> trainer = new Trainer<>(peft, Objectives.causalLm(0), cfg);
            trainer.addListener(bar.training());
            trainer.addListener(new TrainingListener() {
                @Override
                public void onEvaluation(long step, double metric, boolean best) {
                    err.printf(Locale.ROOT, "%nstep %d: dev loss %.4f%s%n", step, metric, best ? " (best)" : "");
                    err.flush();
                }
            });
            result = trainer.fit(trainExamples, devExamples, ResponseLoss.metric(evalBatch));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        ResponseLoss.Result after = devExamples == null ? null : ResponseLoss.evaluate(peft, devExamples, evalBatch);
        err.println(peft.parameterCount());
        err.flush();

        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("steps", result.steps());
        metrics.put("final_loss", result.lastLoss());
        metrics.put("stopped", result.reason().name().toLowerCase(Locale.ROOT));
        metrics.put("training_seconds", Math.round(seconds * 10) / 10.0);
        metrics.put("trainable_params", peft.parameterCount().trainable());
        metrics.put("all_params", peft.parameterCount().all());
        metrics.put("examples", data.examples().size());
        metrics.put("truncated", data.truncated());
        metrics.put("skipped", data.skipped());
        if (packed != null) metrics.put("packed_rows", packed.rows().size());
        if (after != null) {
            metrics.put("dev_examples", devExamples.size());
            metrics.put("dev_tokens", after.tokens());
            metrics.put("dev_loss_before", before.loss());
            metrics.put("dev_perplexity_before", before.perplexity());
            metrics.put("dev_loss", after.loss());
            metrics.put("dev_perplexity", after.perplexity());
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("format", Sft.name(format));
        settings.put("chat_template", chat.name());
        settings.put("max_length", maxLength);
        settings.put("loss_on", Sft.name(lossOn));
        settings.put("truncation", Sft.name(policy));
        settings.put("pack", c.pack);
        settings.put("model", c.model);
        settings.put("method", c.method.method);
        settings.put("metrics", metrics);
        if (c.output != null) {
            AtomicFiles.writeDirectory(c.output, d -> {
                peft.writeFiles(d);
                if (c.method.full()) Tokenizers.copyFiles(dir, d);
                Json.write(d.resolve(Sft.FILE), settings);
            });
        }
        Map<String, Object> o = new LinkedHashMap<>(settings);
        o.remove("metrics");
        o.putAll(metrics);
        PrintWriter out = c.spec.commandLine().getOut();
        out.println(Common.json(o));
        out.flush();
    }

    private static void refuseClassifierOptions(TrainCommand c) {
        String classifierOnly = c.shots != null ? "--shots" : c.prompt.template != null ? "--template" : c.prompt.verbalizer != null ? "--verbalizer"
                : c.data.textField != null ? "--text-field" : c.data.labelField != null ? "--label-field" : c.data.labelMap != null ? "--label-map" : null;
        if (classifierOnly != null) {
            throw new PeftException(classifierOnly + " is for classification data; with --format the data is instructions (" + InstructionFormat.names() + ")");
        }
    }

    private static List<Conversation> limit(List<Conversation> cs, Integer limit) {
        if (limit == null) return cs;
        if (limit <= 0) throw new PeftException("--limit must be positive, not " + limit);
        return cs.size() <= limit ? cs : cs.subList(0, limit);
    }
}
