#!/usr/bin/env bash
# Regenerates docs/benchmarks-serving.md: many adapters on one frozen BERT-base (adapter selection with 1 to 1,000
# loaded, timed on a narrow model with BERT-base's hook sites and as dispatch alone, also under JMH; mixed batches; merged LoRA; memory
# per loaded adapter) and the HTTP server under load on loopback (about 20 minutes on a 2-core machine; fetches
# BERT-base once). Run it on an otherwise idle machine. Arguments: [ROUNDS [LOAD_SECONDS]] (default 7 and 30) and
# optionally --sections selection,mixed,merged,memory,server to run only some (default: all); the other sections are then
# kept from the page already there, and the page says which run each comes from.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
mvn -q -B -DskipTests -pl benchmarks -am package
java -Xmx8g -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.ServingBenchmarks docs/benchmarks-serving.md "$@"
