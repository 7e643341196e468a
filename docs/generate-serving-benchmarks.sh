#!/usr/bin/env bash
# Regenerates docs/benchmarks-serving.md: many adapters on one frozen BERT-base (adapter selection with 1 to 1,000 loaded,
# mixed batches, merged LoRA, memory per adapter) and the HTTP server under load on loopback (about 20 minutes on a
# 2-core machine; fetches BERT-base once). Run it on an otherwise idle machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-0}"          # see ./peft
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-16}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4194304}"
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx8g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.ServingBenchmarks docs/benchmarks-serving.md "$@"
