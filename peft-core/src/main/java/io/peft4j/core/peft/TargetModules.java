package io.peft4j.core.peft;

import io.peft4j.core.hooks.HookSite;
import io.peft4j.core.hooks.SiteKind;
import io.peft4j.core.model.TransformerModel;

import java.util.List;

/**
 * Hugging Face PEFT's {@code target_modules} / {@code layers_to_transform} selection over a model's linear
 * hook sites: a target matches a site whose name equals it or ends with {@code "." + target};
 * {@code all-linear} selects every linear projection inside the layers (not the output head).
 */
public final class TargetModules {
    public static final String ALL_LINEAR = "all-linear";

    private TargetModules() {
    }

    /**
     * The linear sites {@code targets} select, restricted to {@code layers} when not null. Fails with the
     * available names when nothing matches.
     */
    public static List<HookSite> select(TransformerModel model, List<String> targets, List<Integer> layers) {
        List<HookSite> linear = model.hooks().sites(SiteKind.LINEAR);
        List<HookSite> hit = linear.stream()
                .filter(s -> targets.contains(ALL_LINEAR) || targets.stream().anyMatch(s::matches))
                .filter(s -> layers == null || layers.contains(s.layer()))
                .toList();
        if (hit.isEmpty()) {
            List<String> leaves = linear.stream().map(s -> s.name().replaceFirst("^.*?\\.\\d+\\.", "")).distinct().toList();
            throw new IllegalArgumentException("target_modules " + targets + (layers == null ? "" : " in layers " + layers)
                    + " match no linear layer of this " + model.config().modelType() + " model (its linear layers: " + leaves + ")");
        }
        return hit;
    }

    /** Whether {@code site} is one of {@code names} by the same suffix rule. */
    public static boolean matchesAny(HookSite site, List<String> names) {
        return names != null && names.stream().anyMatch(site::matches);
    }
}
