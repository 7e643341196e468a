package io.peft4j.instruct;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Renders a study's JSON ({@link StudyResult#toJson()}) as Markdown tables: the held-out tasks (the main table), the
 * instruction forms, the tasks seen in training, the schemes' sizes and training, and every held-out instruction.
 * Cells are dev accuracy / macro-F1, each the mean over the instructions (and tasks) it covers.
 *
 * <pre>{@code
 * String md = StudyReport.markdown(Json.read(Path.of("results.json")));
 * }</pre>
 */
public final class StudyReport {
    private static final List<String> ORDER = List.of(StudyResult.BASE, "prompt", "prefix", "hyper", StudyResult.SUPERVISED);

    private StudyReport() {
    }

    private record S(String system, String heldOut, String task, boolean seen, String instruction, String form, double acc, double f1) {
        static S of(JsonNode n) {
            return new S(n.path("system").asText(), n.path("held_out").isNull() ? null : n.path("held_out").asText(null), n.path("task").asText(),
                    n.path("seen").asBoolean(), n.path("instruction").asText(), n.path("form").asText(), n.path("accuracy").asDouble(),
                    n.path("macro_f1").asDouble());
        }
    }

    /** The Markdown of a study's JSON. */
    public static String markdown(JsonNode study) {
        List<S> scores = new ArrayList<>();
        for (JsonNode s : study.path("scores")) scores.add(S.of(s));
        Map<String, JsonNode> tasks = new LinkedHashMap<>();
        for (JsonNode t : study.path("tasks")) tasks.put(t.path("task").asText(), t);
        Set<String> systems = new LinkedHashSet<>();
        for (String s : ORDER) if (scores.stream().anyMatch(x -> x.system().equals(s))) systems.add(s);
        Set<String> heldOutTasks = new LinkedHashSet<>();
        for (S s : scores) if (!s.seen() && !s.system().equals(StudyResult.BASE) && s.heldOut() != null) heldOutTasks.add(s.task());
        if (heldOutTasks.isEmpty()) for (S s : scores) heldOutTasks.add(s.task());
        StringBuilder sb = new StringBuilder();
        JsonNode c = study.path("config");
        sb.append(String.format(Locale.ROOT, "Model %s. Each training run: %d steps of %d examples (learning rate %s; prefix scheme %s), drawn from the tasks of the other "
                        + "clusters with FLAN's mixing (examples-proportional, cap %d, temperature %s), each rendered with one of its task's first %d "
                        + "sentence-style phrasings, at most %d tokens. Scored on %d dev records per held-out task and %d per task seen in training; "
                        + "the held-out tasks under every instruction not trained on (the other sentence phrasings, the bare name, the paragraph). "
                        + "Template scheme and upper bound: %s; prefix: %s; hypernetwork: %s. %s.%n%n",
                study.path("model").asText(), c.path("steps").asInt(), c.path("batch_size").asInt(), c.path("learning_rate").asText(), c.path("prefix_learning_rate").asText(),
                c.path("mixing_cap").asInt(), c.path("temperature").asText(), c.path("train_instructions").asInt(), c.path("max_length").asInt(),
                c.path("dev_examples").asInt(), c.path("seen_dev_examples").asInt(), c.path("method").asText(), c.path("prefix").asText(),
                c.path("hyper").asText(), took(study)));

        // 1. held-out tasks
        sb.append("### Held-out tasks: zero-shot on tasks of a cluster never trained on\n\n");
        sb.append("Dev accuracy / macro-F1, mean over the instructions not trained on. base: the frozen model with the same instructions; ")
                .append("prompt, prefix, hyper: the three schemes tuned on the other clusters; supervised: the template scheme trained on the task ")
                .append("itself (the upper bound). The last row gives each system's trainable parameters.\n\n");
        sb.append("| task | cluster | dev | majority |");
        for (String s : systems) sb.append(' ').append(s).append(" |");
        sb.append("\n|---|---|---:|---:|");
        sb.append("---:|".repeat(systems.size())).append('\n');
        Map<String, List<Double>> column = new LinkedHashMap<>();
        for (String task : heldOutTasks) {
            JsonNode t = tasks.get(task);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %.3f / %.3f |", task, t == null ? "" : t.path("cluster").asText(),
                    t == null ? 0 : t.path("dev").asInt(), t == null ? Double.NaN : t.path("majority").asDouble(),
                    t == null ? Double.NaN : t.path("majority_macro_f1").asDouble()));
            column.computeIfAbsent("majority", k -> new ArrayList<>()).add(t == null ? Double.NaN : t.path("majority").asDouble());
            for (String sys : systems) {
                double[] m = mean(scores, x -> x.system().equals(sys) && x.task().equals(task) && !x.seen());
                sb.append(' ').append(af(m)).append(" |");
                column.computeIfAbsent(sys, k -> new ArrayList<>()).add(m[0]);
            }
            sb.append('\n');
        }
        if (heldOutTasks.size() > 1) {
            sb.append("| mean accuracy | | | ").append(f(avg(column.get("majority")))).append(" |");
            for (String sys : systems) sb.append(' ').append(f(avg(column.get(sys)))).append(" |");
            sb.append('\n');
        }
        sb.append("| trainable parameters | | | |");
        for (String sys : systems) sb.append(' ').append(parameters(study, sys)).append(" |");
        sb.append("\n\n");
        for (String sys : systems) {
            if (sys.equals(StudyResult.BASE) || sys.equals(StudyResult.SUPERVISED) || !systems.contains(StudyResult.BASE)) continue;
            int better = 0, n = 0;
            List<Double> mine = column.get(sys), base = column.get(StudyResult.BASE);
            for (int i = 0; i < mine.size(); i++) {
                if (Double.isNaN(mine.get(i)) || Double.isNaN(base.get(i))) continue;
                n++;
                if (mine.get(i) > base.get(i)) better++;
            }
            sb.append(String.format(Locale.ROOT, "- %s beats the base model's accuracy on %d of %d held-out tasks (mean %s against %s).%n", sys, better, n,
                    f(avg(mine)), f(avg(base))));
        }
        sb.append('\n');

        // 2. forms
        sb.append("### Instruction forms (held-out tasks)\n\n");
        sb.append("Dev accuracy, mean over the held-out tasks' instructions of each form; every system was trained on sentence-style phrasings only, ")
                .append("so the sentence column holds phrasings it never saw.\n\n");
        List<String> forms = new ArrayList<>();
        for (Form fm : Form.values()) if (scores.stream().anyMatch(x -> x.form().equals(fm.key()))) forms.add(fm.key());
        sb.append("| system |");
        for (String fm : forms) sb.append(' ').append(fm).append(" |");
        sb.append("\n|---|").append("---:|".repeat(forms.size())).append('\n');
        for (String sys : systems) {
            sb.append("| ").append(sys).append(" |");
            for (String fm : forms) sb.append(' ').append(f(mean(scores, x -> x.system().equals(sys) && !x.seen() && heldOutTasks.contains(x.task()) && x.form().equals(fm))[0])).append(" |");
            sb.append('\n');
        }
        sb.append('\n');

        // 3. seen tasks
        List<String> clusters = new ArrayList<>();
        for (S s : scores) if (s.seen() && !clusters.contains(s.heldOut())) clusters.add(s.heldOut());
        if (!clusters.isEmpty()) {
            sb.append("### Tasks seen in training (an instruction not trained on)\n\n");
            sb.append("Dev accuracy, mean over the tasks each run trained on, under the first instruction held out from training; base: the frozen ")
                    .append("model on the same tasks and instruction (when every cluster is held out in turn, on the dev records scored for the task ")
                    .append("held out: a larger sample than the runs' seen-task records).\n\n");
            sb.append("| system |");
            for (String cl : clusters) sb.append(" ").append(cl).append(" held out |");
            sb.append("\n|---|").append("---:|".repeat(clusters.size())).append('\n');
            for (String sys : systems) {
                if (sys.equals(StudyResult.SUPERVISED)) continue;
                sb.append("| ").append(sys).append(" |");
                for (String cl : clusters) {
                    double v;
                    if (sys.equals(StudyResult.BASE)) {
                        List<S> seen = scores.stream().filter(x -> x.seen() && cl.equals(x.heldOut())).toList();
                        v = mean(scores, x -> x.system().equals(StudyResult.BASE) && seen.stream().anyMatch(y -> y.task().equals(x.task()) && y.instruction().equals(x.instruction())))[0];
                    } else {
                        v = mean(scores, x -> x.system().equals(sys) && x.seen() && cl.equals(x.heldOut()))[0];
                    }
                    sb.append(' ').append(f(v)).append(" |");
                }
                sb.append('\n');
            }
            sb.append('\n');
        }

        // 4. schemes
        if (study.path("runs").size() > 0) {
            sb.append("### Trainable parameters and training\n\n");
            sb.append("| system | trainable params | runs | steps | loss, first → last step (mean) | training s (mean) |\n|---|---:|---:|---:|---:|---:|\n");
            Map<String, List<JsonNode>> bySystem = new LinkedHashMap<>();
            for (String s : ORDER) for (JsonNode r : study.path("runs")) if (r.path("system").asText().equals(s)) bySystem.computeIfAbsent(s, k -> new ArrayList<>()).add(r);
            bySystem.forEach((sys, rs) -> sb.append(String.format(Locale.ROOT, "| %s | %,d | %d | %d | %.3f → %.3f | %.0f |%n", sys, rs.get(0).path("trainable_params").asLong(),
                    rs.size(), rs.get(0).path("steps").asLong(), rs.stream().mapToDouble(r -> r.path("first_loss").asDouble()).average().orElse(Double.NaN),
                    rs.stream().mapToDouble(r -> r.path("last_loss").asDouble()).average().orElse(Double.NaN),
                    rs.stream().mapToDouble(r -> r.path("seconds").asDouble()).average().orElse(Double.NaN))));
            sb.append('\n');
        }

        // 5. per instruction
        sb.append("### Every held-out instruction\n\n");
        sb.append("Dev accuracy of each held-out task under each instruction not trained on.\n\n| task | instruction | form | template |");
        for (String s : systems) sb.append(' ').append(s).append(" |");
        sb.append("\n|---|---|---|---|").append("---:|".repeat(systems.size())).append('\n');
        for (String task : heldOutTasks) {
            JsonNode t = tasks.get(task);
            if (t == null) continue;
            for (JsonNode i : t.path("eval_instructions")) {
                String id = i.path("id").asText();
                sb.append(String.format("| %s | %s | %s | `%s` |", task, id, i.path("form").asText(), i.path("template").asText().replace("|", "\\|")));
                for (String sys : systems) sb.append(' ').append(f(mean(scores, x -> x.system().equals(sys) && !x.seen() && x.task().equals(task) && x.instruction().equals(id))[0])).append(" |");
                sb.append('\n');
            }
        }
        sb.append('\n');
        return sb.toString();
    }

    /** The trainable parameters of {@code system}'s runs (0 for the base model), or "–" when it has none. */
    private static String parameters(JsonNode study, String system) {
        if (system.equals(StudyResult.BASE)) return "0";
        for (JsonNode r : study.path("runs")) {
            if (r.path("system").asText().equals(system)) return String.format(Locale.ROOT, "%,d", r.path("trainable_params").asLong());
        }
        return "–";
    }

    /** Mean accuracy and macro-F1 of the scores {@code keep} selects; NaN when it selects none. */
    private static double[] mean(List<S> scores, Predicate<S> keep) {
        double a = 0, m = 0;
        int n = 0;
        for (S s : scores) {
            if (!keep.test(s)) continue;
            a += s.acc();
            m += s.f1();
            n++;
        }
        return n == 0 ? new double[]{Double.NaN, Double.NaN} : new double[]{a / n, m / n};
    }

    private static double avg(List<Double> v) {
        if (v == null) return Double.NaN;
        double s = 0;
        int n = 0;
        for (double x : v) {
            if (Double.isNaN(x)) continue;
            s += x;
            n++;
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static String f(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String af(double[] m) {
        return Double.isNaN(m[0]) ? "–" : String.format(Locale.ROOT, "%.3f / %.3f", m[0], m[1]);
    }

    /** "N s in all", saying how many runs taken from a journal recorded no time (theirs is not in N). */
    private static String took(JsonNode study) {
        String all = String.format(Locale.ROOT, "%.0f s in all", study.path("seconds").asDouble());
        int untimed = study.path("untimed_runs").asInt(0);
        return untimed == 0 ? all : all + String.format(Locale.ROOT, ", leaving out %d run%s taken from a journal that did not record %s time", untimed,
                untimed == 1 ? "" : "s", untimed == 1 ? "its" : "their");
    }
}
