package io.peft4j.sft;

import io.peft4j.sft.data.Conversation;
import io.peft4j.sft.data.Message;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * A toy family of string tasks phrased as short instructions, for gpt2-tiny (one token per character, 64 positions):
 * each task has three training phrasings and one held-out phrasing; inputs are 3 or 4 distinct lowercase letters.
 * {@link #UPPER_LAST} composes two other tasks (upper case, last letter) and serves as a held-out task.
 */
public final class ToyInstructions {
    private ToyInstructions() {
    }

    /** A task: its name, the function, its training phrasings and a held-out one ({@code X} stands for the input). */
    public record Task(String name, UnaryOperator<String> f, List<String> train, String heldOut) {
        public Conversation example(String phrasing, String x) {
            return Conversation.of(List.of(Message.user(phrasing.replace("X", x)), Message.assistant(f.apply(x))), name);
        }
    }

    public static final Task COPY = new Task("copy", x -> x, List.of("copy X", "copy word X", "repeat X"), "please copy X");
    public static final Task UPPER = new Task("upper", x -> x.toUpperCase(Locale.ROOT), List.of("upper X", "upper case X", "caps X"), "please upper X");
    public static final Task LAST = new Task("last", x -> x.substring(x.length() - 1), List.of("last X", "last letter X", "end of X"), "please last X");
    public static final Task UPPER_LAST = new Task("upper-last", x -> x.substring(x.length() - 1).toUpperCase(Locale.ROOT),
            List.of("upper last X", "last letter upper case X", "caps end of X"), "please upper last X");

    /** A random input: 3 or 4 distinct letters a..z. */
    public static String input(Random r) {
        int n = 3 + r.nextInt(2);
        StringBuilder b = new StringBuilder();
        while (b.length() < n) {
            char c = (char) ('a' + r.nextInt(26));
            if (b.indexOf(String.valueOf(c)) < 0) b.append(c);
        }
        return b.toString();
    }

    /** {@code perTask} examples of each task with its training phrasings (chosen uniformly), seeded. */
    public static List<Conversation> training(List<Task> tasks, int perTask, long seed) {
        Random r = new Random(seed);
        List<Conversation> out = new ArrayList<>();
        for (Task t : tasks) {
            for (int i = 0; i < perTask; i++) out.add(t.example(t.train().get(r.nextInt(t.train().size())), input(r)));
        }
        return out;
    }

    /** {@code n} examples of {@code task} with the given phrasing, seeded. */
    public static List<Conversation> eval(Task task, String phrasing, int n, long seed) {
        Random r = new Random(seed);
        List<Conversation> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(task.example(phrasing, input(r)));
        return out;
    }
}
