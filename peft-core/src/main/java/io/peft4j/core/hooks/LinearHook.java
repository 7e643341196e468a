package io.peft4j.core.hooks;

import io.peft4j.core.tensor.Tensor;

/**
 * At {@link SiteKind#LINEAR}: a frozen projection {@code y = x·W + b}. {@link #input} may rescale the input
 * before the projection (IA3 on feed-forward layers); {@link #output} receives the (possibly rescaled)
 * input {@code x [.., in]} and the base output {@code y [.., out]} and returns the new output (LoRA adds
 * {@code s·B·A·x}, IA3 multiplies by a vector). Several hooks on one site apply in installation order.
 */
public interface LinearHook extends Hook {
    default Tensor input(Tensor x, ForwardContext ctx) {
        return x;
    }

    default Tensor output(Tensor x, Tensor y, ForwardContext ctx) {
        return y;
    }
}
