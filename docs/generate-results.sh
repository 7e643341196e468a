#!/usr/bin/env bash
# Regenerates docs/results.md (and docs/results/*.json, *.png) from experiments on the real BERT-base and the built-in
# datasets. Sections: zero-shot (about 30 minutes on a 2-core machine), few-shot (about 3 hours: 20 few-shot runs and
# 4 full-data runs), probes (about 25 minutes; a second run reads the cached features in seconds), instruct (the
# instruction-tuning study, about 3.5 hours: docs/instruction-tuning.md; each finished run is kept in docs/results/instruct-runs/,
# so running it again continues where it stopped), demo (below). With no arguments it runs the
# first four, then renders; give section names to run only those (the others' JSON files are kept).
#
# demo runs only when named, since it takes many hours: `docs/generate-results.sh demo [TASK...]` runs
# `./peft demo --full --task T --output docs/results/demo/T` for each built-in task (`peft datasets`; all of them, or the
# TASKs named), one after another, then renders. On a 2-core machine it takes days: one PEFT method about 1.5-2 hours
# on the four word tasks together, 2 hours on spam and 8 on sotu, about 90 hours for all (docs/demo.md, `--full`). The demo saves each method's row
# as soon as it finishes and reuses the rows made with the same settings, so running the same command again continues
# where it stopped. A task whose demo fails (a method out of memory, say) does not stop the others; the script then
# ends with exit code 1 naming it.
#
#   docs/generate-results.sh                          # zero-shot, few-shot, probes, instruct; render
#   docs/generate-results.sh probes                   # one section; render
#   docs/generate-results.sh demo                     # the --full demo on every built-in task; render
#   docs/generate-results.sh demo spam opinion-words  # on these tasks only
#   docs/generate-results.sh render                   # only render docs/results.md from what is there
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses
KNOWN=(zero-shot few-shot probes instruct demo render)
sections=() demo_tasks=() current=""
for a in "$@"; do
  if [[ " ${KNOWN[*]} " == *" $a "* ]]; then
    [ "$a" = render ] || sections+=("$a")
    current="$a"
  elif [ "$current" = demo ]; then
    demo_tasks+=("$a")
  else
    echo "generate-results: unknown section '$a' (${KNOWN[*]}; task names go after demo)" >&2
    exit 2
  fi
done
[ $# -gt 0 ] || sections=(zero-shot few-shot probes instruct)
mvn -q -B -DskipTests -pl benchmarks -am package
failed=()
for s in ${sections[@]+"${sections[@]}"}; do
  start=$(date +%s)
  if [ "$s" = demo ]; then
    # the built-in tasks, from the datasets API (`peft datasets --json`: one object per line, "name" first)
    mapfile -t builtins < <(./peft datasets --json | sed -n 's/^{"name":"\([^"]*\)".*/\1/p')
    [ ${#builtins[@]} -gt 0 ] || { echo "generate-results: peft datasets listed no task" >&2; exit 1; }
    tasks=("${demo_tasks[@]+"${demo_tasks[@]}"}")
    [ ${#tasks[@]} -gt 0 ] || tasks=("${builtins[@]}")
    for t in "${tasks[@]}"; do
      [[ " ${builtins[*]} " == *" $t "* ]] || { echo "generate-results: '$t' is not a built-in task (${builtins[*]})" >&2; exit 2; }
    done
    for t in "${tasks[@]}"; do
      tstart=$(date +%s)
      echo "demo --full: $t (docs/results/demo/$t)" >&2
      ./peft demo --full --task "$t" --output "docs/results/demo/$t" || failed+=("demo $t")
      echo "demo $t: $(( $(date +%s) - tstart )) s" >&2
    done
  else
    java -Xmx8g -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" \
      io.peft4j.benchmarks.results.Results docs/results "$s"
  fi
  echo "$s: $(( $(date +%s) - start )) s" >&2
done
java -cp "benchmarks/target/benchmarks.jar:benchmarks/target/lib/*" io.peft4j.benchmarks.results.Results docs/results render
echo "wrote docs/results.md" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "generate-results: failed: ${failed[*]} (see docs/results/demo/<task>/logs/; run the same command again to continue)" >&2
  exit 1
fi
