package io.peft4j.core.peft;

import io.peft4j.core.PeftException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;

/** The {@link PeftMethod}s on the class path, by {@code peft_type} and by config class. */
public final class Methods {
    private static volatile Map<String, PeftMethod> byType;

    private Methods() {
    }

    private static Map<String, PeftMethod> all() {
        Map<String, PeftMethod> m = byType;
        if (m == null) {
            m = new LinkedHashMap<>();
            for (PeftMethod method : ServiceLoader.load(PeftMethod.class)) m.put(method.peftType(), method);
            byType = m;
        }
        return m;
    }

    /** The method for {@code peftType}; the error lists the known ones. */
    public static PeftMethod forType(String peftType) {
        PeftMethod m = all().get(peftType);
        if (m == null) {
            throw new PeftException("unknown peft_type '" + peftType + "' (known: " + String.join(", ", all().keySet())
                    + "; method modules on the class path register more)");
        }
        return m;
    }

    /** The method whose config class {@code config} is. */
    public static PeftMethod forConfig(PeftConfig config) {
        for (PeftMethod m : all().values()) if (m.configType().isInstance(config)) return m;
        return forType(config.peftType());
    }
}
