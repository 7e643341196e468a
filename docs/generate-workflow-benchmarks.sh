#!/usr/bin/env bash
# Regenerates docs/benchmarks-workflows.md: zero-shot scoring and probe feature extraction on BERT-base, each against a
# plain forward of the same inputs in the same run (about 25 minutes on a 2-core machine; fetches BERT-base once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx8g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.WorkflowBenchmarks docs/benchmarks-workflows.md "$@"
