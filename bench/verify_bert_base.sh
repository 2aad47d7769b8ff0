#!/usr/bin/env bash
# Verification of a BERT-base-sized conversion (f32 → f16), Porter vs the same work done
# with PyTorch (2 threads), in the same session. Random weights, made on the fly.
#
#   bench/verify_bert_base.sh                 both parts
#   bench/verify_bert_base.sh --files-only    only `porter verify` on files (peak RSS, below)
#
# Needs the torch venv: PORTER_VENV_ROOT/torch (default /work/venvs/torch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ "${1:-}" != "--files-only" ]; then
  (cd "$root" && swift build -c release --product porter-bench-verify >&2)
  PORTER_BLAS_THREADS=2 /usr/bin/time -f "porter peak RSS %M KB, wall %e s" "$root/.build/release/porter-bench-verify"
  OMP_NUM_THREADS=2 /usr/bin/time -f "torch peak RSS %M KB, wall %e s" "$py" "$root/bench/verify_bert_base_torch.py"
fi

# `porter verify` of a BERT-base Hugging Face folder (random weights, ~440 MB of f32, made by
# bench/make_bert_folder.py in $TMPDIR) against its `porter convert --to hf` copy: weights +
# forward levels. Peak RSS with the weights proven identical shared between the two sides
# (the default) and with sharing off (PORTER_VERIFY_SHARE_WEIGHTS=0: each side its own copy),
# and its ratio to the checkpoint's size. PORTER=path/to/porter picks the binary.
porter=${PORTER:-$root/.build/release/porter}
tpy=${PORTER_TORCH_PYTHON:-/work/main/fixtures/generate/.venv-torch/bin/python}
work=${TMPDIR:-/tmp}/porter-verify-bench
mkdir -p "$work"
[ -f "$work/bert/model.safetensors" ] || "$tpy" "$root/bench/make_bert_folder.py" "$work/bert" "$work/inputs.safetensors" 1 128
rm -rf "$work/conv"
"$porter" convert "$work/bert" -o "$work/conv" --to hf --quiet
size=$(stat -c %s "$work/bert/model.safetensors")
for share in 1 0 1 0 1 0; do
  PORTER_VERIFY_SHARE_WEIGHTS=$share /usr/bin/time -v "$porter" verify "$work/bert" "$work/conv" --allow-missing-tokenizer --quiet \
    > /dev/null 2> "$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  awk -v s="$share" -v r="$rss" -v z="$size" -v w="$wall" \
    'BEGIN { printf "porter verify (sharing %s): peak RSS %.0f MB = %.2fx the %.0f MB checkpoint, wall %s\n", (s == "1" ? "on" : "off"), r/1024, r*1024/z, z/1048576, w }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
