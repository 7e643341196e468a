package io.peft4j.core.data;

import java.io.IOException;
import java.io.InputStream;

/** Where records come from: a name for messages and a way to open the bytes. */
record Source(String name, Opener opener) {
    interface Opener {
        InputStream open() throws IOException;
    }

    InputStream open() throws IOException {
        return opener.open();
    }
}
