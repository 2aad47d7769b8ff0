#!/usr/bin/env bash
# Times `porter run --repeat 10` on a BERT-base-shaped Hugging Face folder with random
# weights (made on demand with transformers, kept in a temporary folder, never committed).
#
#   bench/run_bert.sh [BATCH] [SEQ] [THREADS]      (default 8 128 2)
#
# Python (torch, transformers, safetensors) only makes the model: PORTER_PYTHON, default
# the fixture venv fixtures/generate/.venv-torch of the main checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
batch=${1:-8} seq=${2:-128} threads=${3:-2}
py=${PORTER_PYTHON:-/work/main/fixtures/generate/.venv-torch/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && swift build -c release --product porter >&2)
"$py" "$root/bench/make_bert_folder.py" "$work/bert-base" "$work/inputs.safetensors" "$batch" "$seq"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); batch $batch × seq $seq, $threads threads" >&2
/usr/bin/time -f "porter peak RSS %M KB, wall %e s" \
    "$root/.build/release/porter" run "$work/bert-base" --inputs "$work/inputs.safetensors" \
    -o "$work/out.safetensors" --repeat 10 --threads "$threads" --json
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
