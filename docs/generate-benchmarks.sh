#!/usr/bin/env bash
# Regenerates docs/benchmarks.md from the JMH benchmarks (takes a few minutes; fetches BERT-base once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx4g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.Report docs/benchmarks.md
