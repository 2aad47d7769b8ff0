#!/usr/bin/env bash
# Porter's forward pass (`porter run`, release build) against ONNX Runtime on BERT-base and GPT-2
# (transformers random init, exported with torch.onnx; made in a temporary folder, never committed),
# in interleaved rounds; prints the median ratio porter/ORT with its spread and checks the outputs agree
# within 1e-4 × max(1, max|ref|).
#
#   bench/runtime_vs_ort.sh [ROUNDS] [REPEAT] [THREADS]        (default 10 5 2)
#   PORTER_BENCH_MODELS=bert,gpt2 PORTER_BENCH_SHAPES=8x128,1x128 PORTER_BENCH_KEEP=DIR (reuse DIR's models)
#
# Python: fixtures/generate/.venv-ort (bench/requirements-ort.txt), made here if missing; PORTER_ORT_PYTHON
# overrides it. OPENBLAS_CORETYPE is left as the machine sets it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-10} repeat=${2:-5} threads=${3:-2}
py=${PORTER_ORT_PYTHON:-$root/fixtures/generate/.venv-ort/bin/python}
if [ ! -x "$py" ]; then
  python3 -m venv "$root/fixtures/generate/.venv-ort"
  "$root/fixtures/generate/.venv-ort/bin/pip" install -q -r "$root/bench/requirements-ort.txt"
fi
if [ -n "${PORTER_BENCH_KEEP:-}" ]; then
  work=$PORTER_BENCH_KEEP; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi
(cd "$root" && swift build -c release --product porter >&2)
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds × $repeat passes, $threads threads" >&2
"$py" "$root/bench/runtime_vs_ort.py" "$root/.build/release/porter" "$work" --rounds "$rounds" --repeat "$repeat" \
  --threads "$threads" --models "${PORTER_BENCH_MODELS:-bert,gpt2}" --shapes "${PORTER_BENCH_SHAPES:-8x128,1x128}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
