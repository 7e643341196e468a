package io.peft4j.core.hooks;

/** Marker for modules that plug into a {@link HookSite}; see the sub-interfaces for each {@link SiteKind}. */
public interface Hook {
}
