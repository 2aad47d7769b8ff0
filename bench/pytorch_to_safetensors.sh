#!/usr/bin/env bash
# Benchmark: BERT-base-sized torch zip checkpoint → safetensors.
# Porter (release build; plain, and with --fsync) against Python
# torch.load(weights_only=True, mmap=True) + safetensors.torch.save_file, `cp` of the same
# file, and `cp` followed by an fsync of the copy (`sync FILE`): the fair peer of
# `porter convert --fsync`, which flushes the output to disk before moving it into place.
# Contenders take turns within each round, so a noisy moment hurts all of them alike;
# warm page cache. Ends with medians and Porter's ratios to each contender.
#
#   bench/pytorch_to_safetensors.sh [PORTER_BINARY] [RUNS] [SECOND_PORTER_BINARY]
#
# A second Porter binary (e.g. a build of the previous commit) is measured in the same
# rounds as "porter-b". Needs /usr/bin/time (GNU), the torch venv (PORTER_VENV_ROOT,
# default /work/venvs), and a porter binary whose registry includes the pytorch reader.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
porter=${1:-$here/../.build/release/porter}
runs=${2:-3}
porter_b=${3:-}
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
work=${BENCH_DIR:-/tmp/porter-bench}
mkdir -p "$work"
src=$work/bert-base.bin
[ -f "$src" ] || "$py" "$here/make_bert_checkpoint.py" "$src"
size=$(stat -c %s "$src")
echo "input: $src ($size bytes)"
results=$work/results.txt
: > "$results"

measure() {  # label, run, command...
  local label=$1 run=$2; shift 2
  rm -f "$work/out.safetensors" "$work/copy.bin"
  sync
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2>&1
  read -r wall rss < "$work/time.txt"
  echo "$label run $run: ${wall}s wall, $((rss / 1024)) MB peak RSS"
  echo "$label $wall $rss" >> "$results"
}

cat "$src" > /dev/null  # warm the page cache for every contender
for i in $(seq "$runs"); do
  measure cp "$i" cp "$src" "$work/copy.bin"
  measure cp+sync "$i" sh -c 'cp "$1" "$2" && sync "$2"' _ "$src" "$work/copy.bin"
  measure python "$i" "$py" "$here/python_torch_to_safetensors.py" "$src" "$work/out.safetensors"
  measure porter "$i" "$porter" convert "$src" -o "$work/out.safetensors" --to safetensors --force
  measure porter-fsync "$i" "$porter" convert "$src" -o "$work/out.safetensors" --to safetensors --force --fsync
  [ -n "$porter_b" ] && measure porter-b "$i" "$porter_b" convert "$src" -o "$work/out.safetensors" --to safetensors --force
done
rm -f "$work/copy.bin"

python3 - "$results" "$size" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
size = int(sys.argv[2])
wall = {}
rss = {}
for label, w, r in rows:
    wall.setdefault(label, []).append(float(w))
    rss.setdefault(label, []).append(int(r) * 1024)
med = {k: statistics.median(v) for k, v in wall.items()}
print("\nmedian wall / max peak RSS (% of input):")
for k in wall:
    print(f"  {k:12s} {med[k]:6.2f} s  {max(rss[k]) / 2**20:6.0f} MB ({100 * max(rss[k]) / size:.0f}%)")
for p in [k for k in ("porter", "porter-fsync", "porter-b") if k in med]:
    print(f"{p}: {med[p] / med['python']:.2f}x python, {med[p] / med['cp']:.2f}x cp, {med[p] / med['cp+sync']:.2f}x cp+sync")
PY
