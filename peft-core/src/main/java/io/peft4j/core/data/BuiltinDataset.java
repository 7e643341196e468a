package io.peft4j.core.data;

import java.util.List;

/**
 * A dataset shipped in the {@code peft-datasets} module.
 *
 * @param name        its name ({@code spam}, {@code sotu}, ...), accepted wherever a data file is
 * @param description what the texts and labels are
 * @param spec        how it is read by default (its text field or text pair, its label field)
 * @param labels      its label names, sorted
 * @param licence     the data's licence and what to cite
 */
public record BuiltinDataset(String name, String description, DataSpec spec, List<String> labels, String licence) {
    public BuiltinDataset {
        labels = List.copyOf(labels);
    }

    /** Reads a split with the default {@link #spec()}. */
    public List<TextRecord> load(Split split) {
        return Datasets.load(name, split, spec);
    }
}
