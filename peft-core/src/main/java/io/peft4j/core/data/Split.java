package io.peft4j.core.data;

import java.util.Locale;

/** A built-in dataset's split. Test splits are held back and not shipped. */
public enum Split {
    TRAIN, DEV;

    /** The split's file name in a built-in dataset: {@code train.jsonl}, {@code dev.jsonl}. */
    public String fileName() {
        return name().toLowerCase(Locale.ROOT) + ".jsonl";
    }
}
