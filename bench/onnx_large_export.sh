#!/usr/bin/env bash
# `porter convert --to onnx` of a model over 2 GB (a 42-layer BERT, hidden 1024, random
# weights: ~2.2 GB of f32, made on demand in a temporary folder, never committed): the
# writer goes to external data (OUT/model.onnx + OUT/model.onnx.data), and ONNX Runtime
# loads the result and runs it. Prints porter's time and peak RSS, and ORT's check.
#
#   bench/onnx_large_export.sh [WORK_DIR]      (default: a temporary folder, removed after)
#
# PORTER: the binary (default .build/release/porter, built if missing). PORTER_PYTHON:
# Python with torch + transformers (default the main checkout's .venv-torch); ONNX_PYTHON:
# Python with onnx + onnxruntime (default fixtures/generate/.venv-onnx).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PORTER_PYTHON:-/work/main/fixtures/generate/.venv-torch/bin/python}
opy=${ONNX_PYTHON:-$root/fixtures/generate/.venv-onnx/bin/python}
porter=${PORTER:-$root/.build/release/porter}
if [ ! -x "$porter" ]; then (cd "$root" && swift build -c release --product porter >&2); fi
if [ -n "${1:-}" ]; then work=$1; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
[ -f "$work/bert-large/model.safetensors" ] || "$py" "$root/bench/make_large_bert_folder.py" "$work/bert-large"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); source $(du -sh "$work/bert-large/model.safetensors" | cut -f1)" >&2
rm -rf "$work/out"
/usr/bin/time -f "porter convert --to onnx: peak RSS %M KB, wall %e s" \
    "$porter" convert "$work/bert-large" --to onnx -o "$work/out" --quiet
ls -l "$work/out" >&2
"$opy" "$root/bench/check_onnx_large.py" "$work/out/model.onnx"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
