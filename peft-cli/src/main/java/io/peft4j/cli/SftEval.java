package io.peft4j.cli;

import io.peft4j.core.PeftException;
import io.peft4j.core.model.Models;
import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.InstructionFiles;
import io.peft4j.sft.data.InstructionFormat;
import io.peft4j.sft.encode.ChatFormat;
import io.peft4j.sft.encode.ConversationEncoder;
import io.peft4j.sft.encode.LengthPolicy;
import io.peft4j.sft.eval.Completer;
import io.peft4j.sft.eval.GenerationConfig;
import io.peft4j.sft.eval.GenerationEval;
import io.peft4j.sft.eval.ResponseLoss;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code peft eval --format ...} (or on an adapter directory with {@value Sft#FILE}): a decoder, with its adapter or
 * alone, evaluated on instruction data by generation ({@link GenerationEval}: exact match, normalised accuracy,
 * ROUGE-L per task, over all answers and as the mean of the tasks) and by the loss and perplexity of the reference
 * responses ({@link ResponseLoss}).
 */
final class SftEval {
    private SftEval() {
    }

    static void run(EvalCommand c) {
        Sft.Settings settings = Sft.Settings.read(c.adapter);
        if (c.format == null && settings == null) throw new PeftException("--format is required: " + c.adapter + " has no " + Sft.FILE);
        InstructionFormat format = c.format != null ? Sft.format(c.format) : settings.format();
        GenerationConfig gen;
        try {
            gen = new GenerationConfig(c.maxNewTokens, c.temperature, c.seed, c.stop == null ? List.of() : c.stop);
        } catch (IllegalArgumentException e) {
            throw new PeftException("--max-new-tokens, --temperature, --stop: " + e.getMessage());
        }
        if (c.maxLength != null && c.maxLength < 2) throw new PeftException("--max-length must be at least 2, not " + c.maxLength);
        // the data before the model: bad data fails fast
        List<Conversation> data = InstructionFiles.read(Path.of(c.data), format);
        if (c.limit != null && data.size() > c.limit) data = data.subList(0, c.limit);
        Sft.Loaded m = Sft.Loaded.of(c.model, c.adapter, settings, "eval --format");
        ChatFormat chat = Sft.chatFormat(m.modelDir(), c.chatTemplate != null ? c.chatTemplate : settings == null ? null : settings.chatTemplate(), m.tokenizer(), format);
        int positions = m.base().config().maxPositions();
        if (gen.maxNewTokens() >= positions) {
            throw new PeftException("--max-new-tokens " + gen.maxNewTokens() + " leaves no room for a prompt: the model has " + positions + " positions");
        }
        int maxLength = Math.min(positions, c.maxLength != null ? c.maxLength : settings != null ? settings.maxLength() : 512);

        long t0 = System.nanoTime();
        GenerationEval.Report report;
        try (Progress bar = Progress.start("eval", data.size(), c.progress.on())) {
            Completer model = Completer.of(m.base(), Models.eosTokenIds(m.modelDir(), m.tokenizer().eosId()));
            Completer counted = new Completer() {
                @Override
                public int[] complete(int[] prompt, int maxNewTokens, double temperature, long seed) {
                    int[] ids = model.complete(prompt, maxNewTokens, temperature, seed);
                    bar.step(1);
                    return ids;
                }

                @Override
                public int maxPositions() {
                    return model.maxPositions();
                }
            };
            report = GenerationEval.evaluate(data, chat, counted, gen);
        }
        ConversationEncoder.Encoding enc = new ConversationEncoder(chat, maxLength, ConversationEncoder.LossOn.RESPONSES, LengthPolicy.CUT_PROMPT_START)
                .encodeAll(data);
        List<String> tasks = new ArrayList<>();
        for (Conversation conv : enc.conversations()) tasks.add(conv.task());
        ResponseLoss.Result loss = ResponseLoss.evaluate(m.peft(), enc.examples(), c.batchSize);
        Map<String, ResponseLoss.Result> taskLoss = ResponseLoss.byTask(m.peft(), enc.examples(), tasks, c.batchSize);
        double seconds = (System.nanoTime() - t0) / 1e9;

        Map<String, Object> o = new LinkedHashMap<>();
        o.put("format", Sft.name(format));
        o.put("chat_template", chat.name());
        o.put("n", report.overall().n());
        scores(o, report.overall());
        o.put("response_loss", number(loss.loss()));
        o.put("perplexity", number(loss.perplexity()));
        o.put("response_tokens", loss.tokens());
        o.put("truncated", enc.truncated());
        o.put("skipped", enc.skipped());
        Map<String, Object> mean = new LinkedHashMap<>();
        scores(mean, report.taskMean());
        o.put("task_mean", mean);
        Map<String, Object> perTask = new LinkedHashMap<>();
        report.perTask().forEach((t, s) -> {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("n", s.n());
            scores(one, s);
            ResponseLoss.Result l = taskLoss.get(t);
            one.put("response_loss", l == null ? null : number(l.loss()));
            one.put("perplexity", l == null ? null : number(l.perplexity()));
            perTask.put(t, one);
        });
        o.put("per_task", perTask);

        PrintWriter out = c.spec.commandLine().getOut();
        if (c.json) {
            out.println(Common.json(o));
        } else {
            out.printf(Locale.ROOT, "%s on %s (%s, chat template %s): %d examples in %.1f s%n%n", c.adapter == null ? m.modelDir() : c.adapter, c.data,
                    Sft.name(format), chat.name(), data.size(), seconds);
            out.printf(Locale.ROOT, "%-24s %6s %8s %9s %8s %9s %11s%n", "task", "n", "exact", "accuracy", "rouge-l", "loss", "perplexity");
            report.perTask().forEach((t, s) -> row(out, t, s, taskLoss.get(t)));
            row(out, "overall", report.overall(), loss);
            if (report.perTask().size() > 1) row(out, "mean of tasks", report.taskMean(), null);
        }
        out.flush();
    }

    private static void scores(Map<String, Object> o, GenerationEval.Scores s) {
        o.put("exact_match", number(s.exactMatch()));
        o.put("accuracy", number(s.accuracy()));
        o.put("rouge_l", number(s.rougeL()));
    }

    private static Double number(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static void row(PrintWriter out, String task, GenerationEval.Scores s, ResponseLoss.Result l) {
        out.printf(Locale.ROOT, "%-24s %6d %8.4f %9.4f %8.4f %9s %11s%n", task, s.n(), s.exactMatch(), s.accuracy(), s.rougeL(),
                l == null ? "" : String.format(Locale.ROOT, "%.4f", l.loss()), l == null ? "" : String.format(Locale.ROOT, "%.3f", l.perplexity()));
    }
}
