#!/usr/bin/env bash
# Verification of a BERT-base-sized conversion (f32 → f16), Porter vs the same work done
# with PyTorch (2 threads), in the same session. Random weights, made on the fly.
#
#   bench/verify_bert_base.sh
#
# Needs the torch venv: PORTER_VENV_ROOT/torch (default /work/venvs/torch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
(cd "$root" && swift build -c release --product porter-bench-verify >&2)
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
PORTER_BLAS_THREADS=2 /usr/bin/time -f "porter peak RSS %M KB, wall %e s" "$root/.build/release/porter-bench-verify"
OMP_NUM_THREADS=2 /usr/bin/time -f "torch peak RSS %M KB, wall %e s" "$py" "$root/bench/verify_bert_base_torch.py"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
