package io.peft4j.prompt.soft;

import java.util.Map;

/**
 * A {@link io.peft4j.core.hooks.ForwardContext} attachment: which real-token positions of a pass take which soft
 * token, for each soft-token adapter. Positions count the batch's own tokens ({@code 0..length-1}), whatever
 * virtual tokens other adapters prepend.
 *
 * @param length    the batch's sequence length T
 * @param byAdapter per adapter name, one {@code {row, position, softIndex}} triple per replaced position
 */
public record SoftTokenSlots(int length, Map<String, int[][]> byAdapter) {
    public SoftTokenSlots {
        byAdapter = Map.copyOf(byAdapter);
    }
}
