package io.peft4j.core.hooks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's hook sites and the modules installed on them. This is the only seam between models and
 * methods: a method installs hooks here and never touches model code. Any number of hooks may sit on one
 * site (they compose in installation order) and any number of methods may be active at once.
 *
 * <p>A hook may be installed with an <em>owner</em>, the name of the adapter it belongs to. When a pass carries
 * row tags ({@link ForwardContext#rowTags}), {@link #at(String, Class, ForwardContext)} returns only the hooks
 * with no owner and those whose owner is one of the tags present, found through an index by owner: a site's
 * dispatch then costs the same with 1 or 1,000 adapters installed. An owned hook must therefore apply to no
 * row whose tag differs from its owner (as {@code Adapter}'s row selection does); a hook that picks its rows
 * by other means (an attachment) is installed without an owner.
 */
public final class Hooks {
    private final Map<String, HookSite> sites = new LinkedHashMap<>();
    private final Map<String, SiteHooks> installed = new HashMap<>();
    private long installs;

    /** One installed hook: its owner (null: none) and its place in the installation order. */
    private record Entry(Hook hook, String owner, long order) {
    }

    /** A site's hooks: all of them in installation order, and the same split by owner. */
    private static final class SiteHooks {
        final List<Entry> all = new ArrayList<>();
        final List<Entry> unowned = new ArrayList<>();
        final Map<String, List<Entry>> byOwner = new HashMap<>();

        void add(Entry e) {
            all.add(e);
            if (e.owner() == null) unowned.add(e);
            else byOwner.computeIfAbsent(e.owner(), k -> new ArrayList<>()).add(e);
        }

        void remove(Entry e) {
            all.remove(e);
            if (e.owner() == null) {
                unowned.remove(e);
                return;
            }
            List<Entry> l = byOwner.get(e.owner());
            if (l != null && l.remove(e) && l.isEmpty()) byOwner.remove(e.owner());
        }
    }

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

    /** Installs {@code hook} on the site without an owner; returns a handle that removes it again. */
    public Registration add(String siteName, Hook hook) {
        return add(siteName, hook, null);
    }

    /**
     * Installs {@code hook} on the site for {@code owner} (an adapter's name; null: no owner, the hook runs on every
     * pass); returns a handle that removes it again.
     */
    public Registration add(String siteName, Hook hook, String owner) {
        HookSite site = site(siteName);
        if (!site.kind().hookType().isInstance(hook)) {
            throw new IllegalArgumentException("site '" + siteName + "' (" + site.kind() + ") takes a "
                    + site.kind().hookType().getSimpleName() + ", not a " + hook.getClass().getName());
        }
        Entry e = new Entry(hook, owner, installs++);
        SiteHooks s = installed.computeIfAbsent(siteName, k -> new SiteHooks());
        s.add(e);
        return () -> s.remove(e);
    }

    /** Every hook on {@code siteName} of type {@code type}, in installation order, whatever their owners. */
    public <H extends Hook> List<H> at(String siteName, Class<H> type) {
        SiteHooks s = installed.get(siteName);
        return s == null ? List.of() : cast(s.all, type);
    }

    /**
     * The hooks on {@code siteName} that this pass needs, in installation order: with no row tags, all of them
     * (each adapter decides for itself whether it is active); with row tags, those without an owner and those whose
     * owner is one of the tags present. The cost grows with the distinct tags of the batch, not with the hooks installed.
     */
    public <H extends Hook> List<H> at(String siteName, Class<H> type, ForwardContext ctx) {
        SiteHooks s = installed.get(siteName);
        if (s == null) return List.of();
        if (ctx.rowTags() == null) return cast(s.all, type);
        List<Entry> picked = new ArrayList<>(s.unowned);
        int sources = picked.isEmpty() ? 0 : 1;
        for (String tag : distinctTags(ctx.rowTags())) {
            List<Entry> l = s.byOwner.get(tag);
            if (l == null) continue;
            picked.addAll(l);
            sources++;
        }
        if (sources > 1) picked.sort(Comparator.comparingLong(Entry::order));
        return cast(picked, type);
    }

    private static Set<String> distinctTags(List<String> tags) {
        Set<String> out = new LinkedHashSet<>();
        for (String t : tags) if (t != null) out.add(t);
        return out;
    }

    private static <H extends Hook> List<H> cast(List<Entry> entries, Class<H> type) {
        if (entries.isEmpty()) return List.of();
        List<H> out = new ArrayList<>(entries.size());
        for (Entry e : entries) out.add(type.cast(e.hook()));
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
