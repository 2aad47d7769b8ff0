#!/usr/bin/env bash
# Porter's demo on bundled fixtures: check a hostile pickle, port a fairseq translation
# model to a transformers FSMT folder and verify it, port a Keras CNN to PyTorch and
# verify it against Keras' own outputs, and show the reports. Output goes to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
porter=${PORTER:-.build/debug/porter}
out=demo-out
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step porter scan fixtures/pytorch/mal_os_system.pt
set +e
"$porter" scan fixtures/pytorch/mal_os_system.pt
echo "(exit status $? — 5 means dangerous; nothing was run)"
set -e

step porter convert fixtures/fairseq/separate --to hf -o $out/fsmt-en-ru --verify --reference fixtures/fairseq/separate/reference.safetensors --report $out/fsmt-report
"$porter" convert fixtures/fairseq/separate --to hf -o "$out/fsmt-en-ru" --verify \
  --reference fixtures/fairseq/separate/reference.safetensors --report "$out/fsmt-report"

step porter inspect $out/fsmt-en-ru
"$porter" inspect "$out/fsmt-en-ru" > "$out/fsmt-inspect.txt"
head -12 "$out/fsmt-inspect.txt"
echo "  … (full listing in $out/fsmt-inspect.txt)"

step porter convert fixtures/architectures/bert --to pytorch -o $out/bert/pytorch_model.bin --verify --reference fixtures/architectures/bert/reference.safetensors --report $out/bert-report
"$porter" convert fixtures/architectures/bert --to pytorch -o "$out/bert/pytorch_model.bin" --verify \
  --reference fixtures/architectures/bert/reference.safetensors --report "$out/bert-report"

step "head -40 $out/fsmt-report/report.md"
head -40 "$out/fsmt-report/report.md"

echo
echo "Reports (JSON, Markdown, HTML): $out/fsmt-report/ and $out/bert-report/"
