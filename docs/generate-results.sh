#!/usr/bin/env bash
# Regenerates docs/results.md (and docs/results/*.json, *.png) from experiments on the real BERT-base and the built-in
# datasets. Sections: zero-shot (about 30 minutes on a 2-core machine), few-shot (about 3 hours: 20 few-shot runs and
# 4 full-data runs), probes (about 25 minutes; a second run reads the cached features in seconds), instruct (the
# instruction-tuning study, about 2 hours: docs/instruction-tuning.md). With no arguments it runs all four, then renders;
# give section names to run only those (the others' JSON files are kept).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-0}"          # see ./peft
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-16}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4194304}"
mvn -q -B -DskipTests -pl benchmarks -am package
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(zero-shot few-shot probes instruct)
for s in "${sections[@]}"; do
  start=$(date +%s)
  java -Xmx8g -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" \
    io.peft4j.benchmarks.results.Results docs/results "$s"
  echo "$s: $(( $(date +%s) - start )) s" >&2
done
java -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.results.Results docs/results render
echo "wrote docs/results.md" >&2
