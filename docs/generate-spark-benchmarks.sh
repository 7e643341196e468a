#!/usr/bin/env bash
# Regenerates docs/benchmarks-spark.md: data-parallel training on Spark (peft-spark's SparkTrainer) against the
# single-process Trainer on BERT-base with LoRA r=8 and a head: the bytes a step ships (from parameter counts), step time
# and throughput in local[1] and local[2], a standalone master with two 1-core workers started here (1, then 2 executors),
# and a projection on paper for N machines (about 15 minutes on a 2-core machine; fetches BERT-base once). Run it on an
# otherwise idle machine. Arguments go to SparkBenchmarks: [ROUNDS [STEPS [MODEL]]] (defaults 3, 4, bert-base-uncased);
# PEFT4J_SKIP_BUILD=1 runs what benchmarks/target already holds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/docs/jvm-env.sh"        # the JVM environment ./peft uses (the workers pass it on to their executors)
[[ -n "${PEFT4J_SKIP_BUILD:-}" ]] || mvn -q -B -DskipTests -pl benchmarks -am package
T="$ROOT/benchmarks/target"           # benchmarks.jar, lib/ (peft4j, ND4J) and spark-lib/ (Spark 4.0.1 from Maven)

# Spark on JDK 17: org.apache.spark.launcher.JavaModuleOptions, what spark-submit adds (as in peft-spark's pom)
SPARK_JAVA=(-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)

# A standalone master and two workers of 1 core each, as docs/spark.md's "Running" does without a Spark distribution: the
# Master and Worker classes of the Maven jars, SPARK_HOME a directory whose jars/ the workers put on their executors'
# class path (the application's libraries come through spark.executor.extraClassPath below).
export SPARK_HOME="$T/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
mkdir -p "$SPARK_HOME/conf" "$T/spark-logs" && ln -sfn "$T/spark-lib" "$SPARK_HOME/jars"
MASTER=spark://127.0.0.1:7177
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
java -Xmx512m "${SPARK_JAVA[@]}" -cp "$T/spark-lib/*:$T/lib/*" org.apache.spark.deploy.master.Master \
  --host 127.0.0.1 --port 7177 --webui-port 8180 >"$T/spark-logs/master.log" 2>&1 &
PIDS+=($!)
for i in 1 2; do
  java -Xmx512m "${SPARK_JAVA[@]}" -cp "$T/spark-lib/*:$T/lib/*" org.apache.spark.deploy.worker.Worker "$MASTER" \
    --host 127.0.0.1 --cores 1 --memory 4g --webui-port $((8180 + i)) --work-dir "$T/spark-work/$i" >"$T/spark-logs/worker-$i.log" 2>&1 &
  PIDS+=($!)
done

# the driver: the benchmark's JVM (client mode); it waits until each application's executors have registered
java -Xmx8g "${SPARK_JAVA[@]}" -Dpeft4j.bench.cluster="$MASTER" -Dspark.executor.extraClassPath="$T/benchmarks.jar:$T/lib/*" \
  -cp "$T/benchmarks.jar:$T/lib/*:$T/spark-lib/*" io.peft4j.benchmarks.SparkBenchmarks docs/benchmarks-spark.md "$@"
