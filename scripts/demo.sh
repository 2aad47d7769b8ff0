#!/usr/bin/env bash
# Porter's demo on bundled fixtures: check a hostile pickle, port a tiny fairseq translation
# model to a transformers FSMT folder and verify it, port a tiny BERT made by transformers to
# PyTorch and verify it against torch's recorded outputs, write a Keras CNN and that BERT as
# ONNX and verify both, port a tiny Llama made by
# transformers to GGUF q8_0 and verify it, and show the reports. Output goes to demo-out/.
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

# ONNX: the Keras CNN (graph from its model_config) and the BERT (graph from its descriptor)
# written as .onnx, read back, their graphs imported and run on Porter's runtime against the
# source and against the outputs Keras / transformers recorded.
step "porter convert fixtures/hdf5/cnn_functional.h5 -o $out/cnn.onnx --verify --reference …; the same for the BERT"
"$porter" convert fixtures/hdf5/cnn_functional.h5 -o "$out/cnn.onnx" --verify \
  --reference fixtures/hdf5/cnn_functional.io.safetensors
"$porter" convert fixtures/architectures/bert -o "$out/bert.onnx" --verify \
  --reference fixtures/architectures/bert/reference.safetensors

# q8_0 changes the logits by design: the weights level replays the quantizer bit for bit,
# the forward level compares with the f32 source within the q8_0 bound (docs/formats/gguf.md).
step porter convert fixtures/llama/llama -o $out/llama-q8_0.gguf --dtype q8_0 --verify --atol 0.1 --rtol 0 --reference fixtures/llama/llama/reference.safetensors --report $out/llama-report
"$porter" convert fixtures/llama/llama -o "$out/llama-q8_0.gguf" --dtype q8_0 --verify --atol 0.1 --rtol 0 \
  --reference fixtures/llama/llama/reference.safetensors --report "$out/llama-report"

step "head -40 $out/fsmt-report/report.md"
head -40 "$out/fsmt-report/report.md"

echo
echo "Reports (JSON, Markdown, HTML): $out/fsmt-report/, $out/bert-report/ and $out/llama-report/"
