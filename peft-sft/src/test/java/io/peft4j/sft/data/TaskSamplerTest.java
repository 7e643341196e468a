package io.peft4j.sft.data;

import io.peft4j.core.data.Mixture;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TaskSamplerTest {
    @Test
    void drawsFollowTheCappedWeightsAndCycleThroughEachTask() {
        Map<String, List<String>> byTask = new LinkedHashMap<>();
        byTask.put("small", List.of("s0", "s1", "s2"));
        List<String> big = new ArrayList<>();
        for (int i = 0; i < 500; i++) big.add("b" + i);
        byTask.put("big", big);
        Mixture mix = Mixture.of(TaskSampler.sizes(byTask), 50, 1.0);     // small: 3/53, big: capped at 50 -> 50/53
        assertThat(mix.weight("small")).isCloseTo(3 / 53.0, within(1e-12));
        List<String> draws = TaskSampler.draw(byTask, mix, 20_000, 5);
        assertThat(TaskSampler.draw(byTask, mix, 20_000, 5)).isEqualTo(draws);
        List<String> small = draws.stream().filter(s -> s.startsWith("s")).toList();
        assertThat(small.size() / 20_000.0).isCloseTo(3 / 53.0, within(0.006));     // ~5 standard deviations
        for (int c = 0; c + 3 <= small.size(); c += 3) {
            assertThat(new HashSet<>(small.subList(c, c + 3))).as("cycle " + c / 3).containsExactlyInAnyOrder("s0", "s1", "s2");
        }
        List<Conversation> cs = List.of(Conversation.of(List.of(Message.user("q"), Message.assistant("a")), "t1"),
                Conversation.of(List.of(Message.user("q"), Message.assistant("a")), null),
                Conversation.of(List.of(Message.user("q2"), Message.assistant("a")), "t1"));
        assertThat(TaskSampler.byTask(cs).keySet()).containsExactly("t1", Conversation.NO_TASK);
        assertThat(TaskSampler.byTask(cs).get("t1")).hasSize(2);
    }
}
