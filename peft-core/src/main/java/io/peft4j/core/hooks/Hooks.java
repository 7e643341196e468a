package io.peft4j.core.hooks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's hook sites and the modules installed on them. This is the only seam between models and
 * methods: a method installs hooks here and never touches model code. Any number of hooks may sit on one
 * site (they compose in installation order) and any number of methods may be active at once.
 */
public final class Hooks {
    private final Map<String, HookSite> sites = new LinkedHashMap<>();
    private final Map<String, List<Hook>> installed = new LinkedHashMap<>();

    /** Declared by a model while it builds itself. */
    public void declare(HookSite site) {
        if (sites.putIfAbsent(site.name(), site) != null) throw new IllegalStateException("duplicate hook site " + site.name());
    }

    /** Every site of the model, in forward order. */
    public Collection<HookSite> sites() {
        return Collections.unmodifiableCollection(sites.values());
    }

    public List<HookSite> sites(SiteKind kind) {
        return sites.values().stream().filter(s -> s.kind() == kind).toList();
    }

    public HookSite site(String name) {
        HookSite s = sites.get(name);
        if (s == null) throw new IllegalArgumentException("no hook site named '" + name + "'");
        return s;
    }

    /** Installs {@code hook} on the site; returns a handle that removes it again. */
    public Registration add(String siteName, Hook hook) {
        HookSite site = site(siteName);
        if (!site.kind().hookType().isInstance(hook)) {
            throw new IllegalArgumentException("site '" + siteName + "' (" + site.kind() + ") takes a "
                    + site.kind().hookType().getSimpleName() + ", not a " + hook.getClass().getName());
        }
        installed.computeIfAbsent(siteName, k -> new ArrayList<>()).add(hook);
        return () -> {
            List<Hook> l = installed.get(siteName);
            if (l != null) l.remove(hook);
        };
    }

    /** The hooks on {@code siteName} of type {@code type}, in installation order. */
    public <H extends Hook> List<H> at(String siteName, Class<H> type) {
        List<Hook> l = installed.get(siteName);
        if (l == null || l.isEmpty()) return List.of();
        List<H> out = new ArrayList<>(l.size());
        for (Hook h : l) out.add(type.cast(h));
        return out;
    }

    /** Removes every installed hook. */
    public void clear() {
        installed.clear();
    }

    /** Handle to undo one {@link #add}. */
    @FunctionalInterface
    public interface Registration {
        void remove();
    }
}
