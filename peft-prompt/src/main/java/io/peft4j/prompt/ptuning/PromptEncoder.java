package io.peft4j.prompt.ptuning;

import io.peft4j.core.tensor.Init;
import io.peft4j.core.tensor.Ops;
import io.peft4j.core.tensor.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * P-tuning's prompt encoder: maps the trainable virtual-token embeddings {@code E [n, d]} to the prompt
 * {@code [n, d]}. Linear weights are PyTorch-oriented {@code [out, in]} and initialised as PyTorch's
 * defaults (Kaiming-uniform weights, uniform biases with bound 1/√fan_in); E ~ N(0, 1).
 */
final class PromptEncoder {
    private final PTuningConfig cfg;
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private long seedCounter;
    private final long seed;
    private final DataType type;

    PromptEncoder(PTuningConfig cfg, long d, DataType type, long seed) {
        this.cfg = cfg;
        this.seed = seed;
        this.type = type;
        int n = cfg.numVirtualTokens(), h = cfg.encoderHiddenSize();
        add("embedding.weight", Init.normal(next(), 1.0, type, n, d));
        if (cfg.encoder() == PTuningConfig.Encoder.MLP) {
            linear("mlp_head.0", d, h);
            linear("mlp_head.2", h, h);
            linear("mlp_head.4", h, d);
        } else {
            for (int layer = 0; layer < cfg.encoderNumLayers(); layer++) {
                long in = layer == 0 ? d : 2L * h;
                for (String dir : new String[]{"", "_reverse"}) {
                    double bound = 1.0 / Math.sqrt(h);     // PyTorch's LSTM init: U(-1/√h, 1/√h) for every tensor
                    add("lstm_head.weight_ih_l" + layer + dir, Init.uniform(next(), bound, type, 4L * h, in));
                    add("lstm_head.weight_hh_l" + layer + dir, Init.uniform(next(), bound, type, 4L * h, h));
                    add("lstm_head.bias_ih_l" + layer + dir, Init.uniform(next(), bound, type, 4L * h));
                    add("lstm_head.bias_hh_l" + layer + dir, Init.uniform(next(), bound, type, 4L * h));
                }
            }
            linear("mlp_head.0", 2L * h, 2L * h);
            linear("mlp_head.2", 2L * h, d);
        }
    }

    private long next() {
        return seed * 0x9E3779B97F4A7C15L + seedCounter++;
    }

    private void add(String key, org.nd4j.linalg.api.ndarray.INDArray init) {
        params.put(key, Tensor.parameter(init));
    }

    private void linear(String key, long in, long out) {
        add(key + ".weight", Init.kaimingUniform(next(), in, type, out, in));
        add(key + ".bias", Init.uniform(next(), 1.0 / Math.sqrt(in), type, out));
    }

    Map<String, Tensor> parameters() {
        return params;
    }

    private Tensor lin(String key, Tensor x) {
        return Ops.linearT(x, params.get(key + ".weight"), params.get(key + ".bias"));
    }

    /** The prompt {@code [n, d]}. */
    Tensor forward(boolean training, long dropoutSeed) {
        Tensor x = params.get("embedding.weight");
        if (cfg.encoder() == PTuningConfig.Encoder.MLP) {
            x = Ops.relu(lin("mlp_head.0", x));
            x = Ops.relu(lin("mlp_head.2", x));
            return lin("mlp_head.4", x);
        }
        for (int layer = 0; layer < cfg.encoderNumLayers(); layer++) {
            if (layer > 0 && training) x = Ops.dropout(x, cfg.encoderDropout(), dropoutSeed + layer);
            x = Ops.concat(1, lstm(x, layer, ""), lstm(x, layer, "_reverse"));
        }
        return lin("mlp_head.2", Ops.relu(lin("mlp_head.0", x)));
    }

    /** One direction of one LSTM layer over {@code x [n, in]}; PyTorch's gate order i, f, g, o. Returns {@code [n, h]}. */
    private Tensor lstm(Tensor x, int layer, String dir) {
        int n = (int) x.size(0);
        long h = cfg.encoderHiddenSize();
        String s = "_l" + layer + dir;
        Tensor xw = Ops.add(Ops.linearT(x, params.get("lstm_head.weight_ih" + s), params.get("lstm_head.bias_ih" + s)),
                params.get("lstm_head.bias_hh" + s));
        Tensor whh = params.get("lstm_head.weight_hh" + s);
        boolean reverse = !dir.isEmpty();
        Tensor hPrev = null, c = null;
        Tensor[] out = new Tensor[n];
        for (int step = 0; step < n; step++) {
            int t = reverse ? n - 1 - step : step;
            Tensor gates = Ops.narrow(xw, 0, t, 1);
            if (hPrev != null) gates = Ops.add(gates, Ops.matmul(hPrev, whh, false, true));
            Tensor i = Ops.sigmoid(Ops.narrow(gates, 1, 0, h));
            Tensor f = Ops.sigmoid(Ops.narrow(gates, 1, h, h));
            Tensor g = Ops.tanh(Ops.narrow(gates, 1, 2 * h, h));
            Tensor o = Ops.sigmoid(Ops.narrow(gates, 1, 3 * h, h));
            c = c == null ? Ops.mul(i, g) : Ops.add(Ops.mul(f, c), Ops.mul(i, g));
            hPrev = Ops.mul(o, Ops.tanh(c));
            out[t] = hPrev;
        }
        return Ops.concat(0, out);
    }
}
