#!/usr/bin/env bash
# Regenerates docs/benchmarks-kernels.md: peft4j's hand-written kernels (GeluKernel, LayerNormKernel, BatchedGemm) against
# ND4J's fused ops and op chains on BERT-base shapes, contenders alternating, results checked against each other and float64
# (about 2 minutes on a 2-core machine, the build included; no model or data needed). Run it on an otherwise idle machine.
# Argument: [ROUNDS] (default 21 measured rounds; 3 makes a quick smoke run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx4g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.KernelBenchmarks docs/benchmarks-kernels.md "$@"
