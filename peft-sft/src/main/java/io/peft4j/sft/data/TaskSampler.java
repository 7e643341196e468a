package io.peft4j.sft.data;

import io.peft4j.core.data.Mixture;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Multi-task training data drawn from a {@link Mixture} (FLAN's examples-proportional mixing with a cap and a
 * temperature): each draw picks a task by the mixture's weights, then that task's next example in a seeded shuffled
 * order, reshuffled when used up. A small task is repeated rather than drowned; a large one is capped.
 *
 * <pre>{@code
 * Map<String, List<Conversation>> byTask = TaskSampler.byTask(conversations);
 * Mixture mix = Mixture.of(TaskSampler.sizes(byTask), Mixture.FLAN_CAP, 1.0);
 * List<Conversation> train = TaskSampler.draw(byTask, mix, 5000, 42);
 * }</pre>
 */
public final class TaskSampler {
    private TaskSampler() {
    }

    /** The conversations grouped by {@link Conversation#task()}, tasks in order of first appearance. */
    public static Map<String, List<Conversation>> byTask(List<Conversation> conversations) {
        Map<String, List<Conversation>> out = new LinkedHashMap<>();
        for (Conversation c : conversations) out.computeIfAbsent(c.task(), t -> new ArrayList<>()).add(c);
        return out;
    }

    /** Each task's number of examples, for {@link Mixture#of}. */
    public static <E> Map<String, Integer> sizes(Map<String, List<E>> byTask) {
        Map<String, Integer> out = new LinkedHashMap<>();
        byTask.forEach((t, l) -> out.put(t, l.size()));
        return out;
    }

    /** {@code n} examples drawn as the class comment says; the same seed gives the same list. */
    public static <E> List<E> draw(Map<String, List<E>> byTask, Mixture mixture, int n, long seed) {
        List<String> tasks = mixture.tasks();
        for (String t : tasks) {
            if (byTask.get(t) == null || byTask.get(t).isEmpty()) throw new IllegalArgumentException("task '" + t + "' of the mixture has no examples");
        }
        Random rnd = new Random(seed);
        Map<String, List<E>> order = new LinkedHashMap<>();
        Map<String, Integer> next = new LinkedHashMap<>();
        List<E> out = new ArrayList<>(n);
        for (int k : mixture.sample(n, seed)) {
            String t = tasks.get(k);
            List<E> o = order.get(t);
            int i = next.getOrDefault(t, 0);
            if (o == null || i == o.size()) {
                o = new ArrayList<>(byTask.get(t));
                Collections.shuffle(o, rnd);
                order.put(t, o);
                i = 0;
            }
            out.add(o.get(i));
            next.put(t, i + 1);
        }
        return out;
    }
}
