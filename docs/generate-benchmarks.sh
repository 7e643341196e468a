#!/usr/bin/env bash
# Regenerates docs/benchmarks.md from the JMH benchmarks (takes a few minutes; fetches BERT-base once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-0}"   # see ./peft; JMH forks inherit both
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-16}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"   # see ./peft
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4194304}"   # see ./peft
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx4g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.Report docs/benchmarks.md
