#!/usr/bin/env bash
# Porter's packed-weight GEMM against oneDNN's dnnl_sgemm on BERT-base / GPT-2 shapes.
#   bench/packed_gemm.sh [THREADS] [ROUNDS]      (default 2 100)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
src="$root/Sources/CPorterRuntime"
clang -O2 -I"$src/include" "$root/bench/packed_gemm.c" "$src/porter_packed_gemm.c" "$src/porter_pool.c" "$src/porter_gemm.c" \
  -o "$work/packed_gemm" -lpthread -ldl -lm
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$work/packed_gemm" "${1:-2}" "${2:-100}"
