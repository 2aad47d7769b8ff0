#!/usr/bin/env bash
# BERT-base forward, batch 8 × seq 128, random weights made on the fly (nothing downloaded
# or committed): PyTorch CPU with 2 threads vs Porter's runtime (OpenBLAS, 2 threads), in
# the same session, alternating engines so both see the same machine load.
#
#   bench/runtime_bert_base.sh [ROUNDS]        (default 2 rounds × 5 timed iterations each)
#
# Needs the torch venv: PORTER_VENV_ROOT/torch (default /work/venvs/torch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-2}
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
args=(--batch 8 --seq 128 --iterations 5 --warmup 1)

(cd "$root" && swift build -c release --product porter-bench-runtime >&2)
bin="$root/.build/release/porter-bench-runtime"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 1 "$rounds"); do
  OMP_NUM_THREADS=2 "$py" "$root/bench/runtime_bert_base_torch.py" "${args[@]}" --threads 2
  PORTER_BLAS_THREADS=2 "$bin" "${args[@]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
