#!/usr/bin/env bash
# oneDNN's dnnl_sgemm against OpenBLAS's cblas_sgemm on BERT-base / GPT-2 shapes, interleaved rounds.
#   bench/gemm_backends.sh [THREADS] [ROUNDS]      (default 2 10)
# OPENBLAS_CORETYPE is left as the machine sets it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cc -O2 -I"$root/Sources/CPorterRuntime/include" "$root/bench/gemm_backends.c" "$root/Sources/CPorterRuntime/porter_gemm.c" \
  -o "$work/gemm_backends" -lopenblas -lpthread -ldl
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
"$work/gemm_backends" "${1:-2}" "${2:-10}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
