#!/usr/bin/env bash
# Benchmark: BERT-base-sized torch zip checkpoint → safetensors.
# Porter (release build) against Python torch.load(weights_only=True, mmap=True) +
# safetensors.torch.save_file, and `cp` of the same file, in one run, warm page cache.
#
#   bench/pytorch_to_safetensors.sh [PORTER_BINARY] [RUNS]
#
# Needs /usr/bin/time (GNU), the torch venv (PORTER_VENV_ROOT, default /work/venvs), and
# a porter binary whose registry includes the pytorch reader.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
porter=${1:-$here/../.build/release/porter}
runs=${2:-3}
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
work=${BENCH_DIR:-/tmp/porter-bench}
mkdir -p "$work"
src=$work/bert-base.bin
[ -f "$src" ] || "$py" "$here/make_bert_checkpoint.py" "$src"
size=$(stat -c %s "$src")
echo "input: $src ($size bytes)"

measure() {  # label, command...
  local label=$1; shift
  for i in $(seq "$runs"); do
    rm -f "$work/out.safetensors" "$work/copy.bin"
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2>&1
    read -r wall rss < "$work/time.txt"
    echo "$label run $i: ${wall}s wall, $((rss / 1024)) MB peak RSS"
  done
}

cat "$src" > /dev/null  # warm the page cache for every contender
measure cp cp "$src" "$work/copy.bin"
measure python "$py" "$here/python_torch_to_safetensors.py" "$src" "$work/out.safetensors"
measure porter "$porter" convert "$src" -o "$work/out.safetensors" --to safetensors --force
rm -f "$work/copy.bin"
