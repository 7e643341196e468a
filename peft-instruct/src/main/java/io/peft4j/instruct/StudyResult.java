package io.peft4j.instruct;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.io.Json;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a {@link Study} measured: every score of every system on every task and instruction, and each run's training.
 * {@link #toMarkdown()} renders the tables ({@link StudyReport}); {@link #toJson()} holds everything.
 *
 * @param model   the base model's name
 * @param config  the study's settings ({@link StudyConfig#toMap()})
 * @param tasks   the tasks, their samples and instructions
 * @param mixture each task's mixing weight over all tasks (a held-out run renormalises over the tasks it trains on)
 * @param runs    the training runs
 * @param scores  every score
 * @param seconds the study's wall time: this process's, and the recorded time of the runs taken from a journal
 * @param untimedRuns runs taken from a journal that recorded no time for them (their time is not in {@code seconds})
 */
public record StudyResult(String model, Map<String, Object> config, List<TaskInfo> tasks, Map<String, Double> mixture, List<Run> runs,
                          List<Score> scores, double seconds, int untimedRuns) {
    /** The systems compared: the frozen model, the three schemes, the supervised upper bound. */
    public static final String BASE = "base", SUPERVISED = "supervised";

    /** A result whose time counts every run ({@code untimedRuns} 0). */
    public StudyResult(String model, Map<String, Object> config, List<TaskInfo> tasks, Map<String, Double> mixture, List<Run> runs,
                       List<Score> scores, double seconds) {
        this(model, config, tasks, mixture, runs, scores, seconds, 0);
    }

    public StudyResult {
        config = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(config));
        tasks = List.copyOf(tasks);
        mixture = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(mixture));
        runs = List.copyOf(runs);
        scores = List.copyOf(scores);
    }

    /**
     * A task of the study.
     *
     * @param task              its name
     * @param cluster           its cluster
     * @param labels            its labels
     * @param trainSize         its training split's size (what the mixture weighs)
     * @param pool              the training records examples were drawn from
     * @param dev               dev records scored when it is held out
     * @param seenDev           dev records scored when it was trained on
     * @param majority          accuracy of always answering the training split's most frequent label, on {@code dev}
     * @param majorityMacroF1   that baseline's macro-F1
     * @param trainInstructions the instructions trained on
     * @param evalInstructions  the instructions only tested on
     */
    public record TaskInfo(String task, String cluster, List<String> labels, int trainSize, int pool, int dev, int seenDev, double majority,
                           double majorityMacroF1, List<InstructionInfo> trainInstructions, List<InstructionInfo> evalInstructions) {
    }

    /** An instruction: its id, form and template. */
    public record InstructionInfo(String id, String form, String template) {
        static InstructionInfo of(Instruction i) {
            return new InstructionInfo(i.id(), i.form().key(), i.template().text());
        }
    }

    /**
     * A training run.
     *
     * @param system          prompt, prefix, hyper or supervised
     * @param heldOut         the cluster held out
     * @param trainedOn       the tasks it trained on
     * @param examplesPerTask how many training examples each task contributed
     * @param trainableParams its trainable parameters
     * @param steps           optimizer steps
     * @param firstLoss       the first step's loss
     * @param lastLoss        the last step's loss
     * @param seconds         training time
     */
    public record Run(String system, String heldOut, List<String> trainedOn, Map<String, Integer> examplesPerTask, long trainableParams, long steps,
                      double firstLoss, double lastLoss, double seconds) {
    }

    /**
     * One score: a system on a task's dev sample under one instruction.
     *
     * @param system      base, prompt, prefix, hyper or supervised
     * @param heldOut     the cluster held out in the run scored (null for the base model)
     * @param task        the task
     * @param seen        whether the run trained on the task
     * @param instruction the instruction's id
     * @param form        its form
     * @param accuracy    accuracy
     * @param macroF1     macro-F1
     * @param n           records scored
     */
    public record Score(String system, String heldOut, String task, boolean seen, String instruction, String form, double accuracy, double macroF1, long n) {
    }

    /** Records as JSON objects with snake_case keys, as the project's other files have them. */
    private static final ObjectMapper SNAKE = Json.MAPPER.copy().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    /** Everything, as JSON (snake_case keys: {@code held_out}, {@code macro_f1}, ...). */
    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("model", model);
        n.set("config", SNAKE.valueToTree(config));
        n.set("tasks", SNAKE.valueToTree(tasks));
        n.set("mixture", SNAKE.valueToTree(mixture));
        n.set("runs", SNAKE.valueToTree(runs));
        n.set("scores", SNAKE.valueToTree(scores));
        n.put("seconds", seconds);
        n.put("untimed_runs", untimedRuns);
        return n;
    }

    /** The tables ({@link StudyReport#markdown}). */
    public String toMarkdown() {
        return StudyReport.markdown(toJson());
    }

    /** Writes {@code results.json} and {@code results.md} into {@code dir}, each through a temporary file and an atomic rename. */
    public void write(Path dir) {
        Json.write(dir.resolve("results.json"), toJson());
        AtomicFiles.write(dir.resolve("results.md"), toMarkdown().getBytes(StandardCharsets.UTF_8));
    }
}
