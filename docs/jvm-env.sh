# Sourced by the docs/generate-*.sh scripts: the environment ./peft runs the JVM with (its comments say why). ND4J's
# OpenMP and OpenBLAS's threads do not spin between ops, and glibc keeps fixed mmap/trim thresholds. JMH forks inherit it.
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-0}"
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-16}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4194304}"
