#!/usr/bin/env bash
# Regenerates docs/benchmarks-decoder.md: a decoder of Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14/2 heads, SwiGLU 4,864,
# vocabulary 151,936, tied embeddings, q/k/v biases) with random weights, the base in FP32 and in BF16: forward and LoRA step
# tokens/s at sequence 512 for batch 1 and 4 with achieved GFLOP/s beside the same run's sgemm, step / forward, peak resident
# memory (each configuration in its own JVM), and greedy generation tokens/s with the key/value cache for 1 and 8 sequences.
#
# How long: about an hour on a 2-core machine that other work keeps busy, perhaps half that on an idle one, at the default
# --reps 3. This is an ESTIMATE, not a measurement: it scales 2-layer runs at this width (sequence 128 and 512, batch 1,
# 25-27 GFLOP/s achieved with sgemm at 32 GFLOP/s under load) by the full run's FLOPs (about 64 TFLOP of forwards and steps)
# and, for generation, by the weights each token reads. The run keeps both cores busy throughout. Memory: the FP32 batch-4
# step needs roughly 15-16 GB resident (also an estimate, from the same runs); a configuration whose JVM is killed is
# listed under "did not finish" and the others still run.
#
# Arguments go to DecoderShapeBenchmark: --reps N, --seq, --batches 1,4, --sequences 1,8, --prompt, --new-tokens,
# --precisions FLOAT,BFLOAT16, and the shape (--hidden --layers --heads --kv-heads --head-dim --ffn --vocab). For a quick
# look at a smaller shape write elsewhere, e.g.
#   DECODER_BENCH_OUT=/tmp/decoder.md docs/generate-decoder-benchmarks.sh --reps 1 --layers 2 --seq 128 --new-tokens 8
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
OUT="${DECODER_BENCH_OUT:-docs/benchmarks-decoder.md}"
# arrays live outside the Java heap; JavaCPP's native limits are off so that the largest configuration is bounded by the machine
JAVA_OPTS="${PEFT4J_BENCH_JAVA_OPTS:--Xmx2g -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0}"
mvn -q -B -DskipTests -pl benchmarks -am package
# shellcheck disable=SC2086
java $JAVA_OPTS -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.DecoderShapeBenchmark "$OUT" "$@"
