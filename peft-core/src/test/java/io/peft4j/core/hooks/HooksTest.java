package io.peft4j.core.hooks;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Owner-aware dispatch: which hooks a pass gets, in which order, and removal. */
class HooksTest {
    /** A hook that only carries a label, to see which hooks come back. */
    private record Label(String name) implements HiddenHook {
        @Override
        public io.peft4j.core.tensor.Tensor apply(io.peft4j.core.tensor.Tensor hidden, ForwardContext ctx) {
            return hidden;
        }
    }

    private static Hooks hooks() {
        Hooks h = new Hooks();
        h.declare(new HookSite("final", SiteKind.FINAL_HIDDEN, -1, 8, 8));
        return h;
    }

    private static List<String> names(Hooks h, ForwardContext ctx) {
        return h.at("final", Label.class, ctx).stream().map(Label::name).toList();
    }

    private static ForwardContext tagged(String... tags) {
        return new ForwardContext(tags.length, Arrays.asList(tags), false, 0);
    }

    @Test
    void taggedPassGetsUnownedHooksAndThoseOfItsTagsInInstallationOrder() {
        Hooks h = hooks();
        h.add("final", new Label("a1"), "a");
        h.add("final", new Label("free1"));
        h.add("final", new Label("b1"), "b");
        h.add("final", new Label("c1"), "c");
        h.add("final", new Label("a2"), "a");
        h.add("final", new Label("free2"), null);
        assertThat(names(h, ForwardContext.inference(2))).containsExactly("a1", "free1", "b1", "c1", "a2", "free2");
        assertThat(names(h, tagged("c", "a", "c"))).containsExactly("a1", "free1", "c1", "a2", "free2");
        assertThat(names(h, tagged("b"))).containsExactly("free1", "b1", "free2");
        assertThat(names(h, tagged("nobody", null))).containsExactly("free1", "free2");
        assertThat(h.at("final", Label.class).stream().map(Label::name).toList()).containsExactly("a1", "free1", "b1", "c1", "a2", "free2");
    }

    @Test
    void removedHooksLeaveEveryIndex() {
        Hooks h = hooks();
        Hooks.Registration a = h.add("final", new Label("a1"), "a");
        Hooks.Registration free = h.add("final", new Label("free"));
        h.add("final", new Label("b1"), "b");
        a.remove();
        free.remove();
        assertThat(names(h, tagged("a", "b"))).containsExactly("b1");
        assertThat(names(h, ForwardContext.inference(1))).containsExactly("b1");
        assertThat(h.at("other-site-without-hooks", Label.class, tagged("a"))).isEmpty();
    }
}
