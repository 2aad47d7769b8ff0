#!/usr/bin/env bash
# HF -> GGUF of a Llama 3.2 3B-shaped sharded checkpoint: porter vs cp vs gguf-py.
#
#   bench/gguf_3b.sh [ROUNDS] [DTYPE]     (default 3 rounds, bf16 source)
#
# Generates $TMPDIR/porter-gguf-3b/hf (bench/make_llama_3b.py: two safetensors shards, 6.4 GB,
# random bf16; reused when present), then runs, interleaved, ROUNDS times each, under
# /usr/bin/time -v:
#   cp -r hf copy                                        (the floor: the same bytes, no work)
#   porter convert hf --to gguf -o porter.gguf           (llama.cpp names, q/k permuted, BF16 kept)
#   python bench/gguf_py_write.py hf gguf-py.gguf        (gguf-py's GGUFWriter, the same tensors)
# and, once, porter --dtype q8_0. Each output is deleted after its run (the page cache is dropped
# neither before nor after: every command reads a warm source). Prints a Markdown table of wall
# time and peak RSS for docs/benchmarks.md. PORTER (default .build/debug/porter, or
# `swift build -c release` and pass its path), PYTHON (a python with numpy and gguf==0.19.0,
# default fixtures/generate/.venv-gguf/bin/python).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
dtype=${2:-bf16}
work=${TMPDIR:-/tmp}/porter-gguf-3b
porter=${PORTER:-$root/.build/debug/porter}
py=${PYTHON:-$root/fixtures/generate/.venv-gguf/bin/python}
mkdir -p "$work"
if [ ! -f "$work/hf/model.safetensors.index.json" ]; then
  echo "generating $work/hf" >&2
  "$py" "$root/bench/make_llama_3b.py" "$work/hf" "$dtype" >&2
fi
src_bytes=$(du -sb "$work/hf" | cut -f1)

results=$work/results.tsv
: > "$results"
measure() {  # label, output, command...
  local label=$1 output=$2; shift 2
  rm -rf "$output"
  sync
  /usr/bin/time -v "$@" > "$work/last.out" 2> "$work/last.time" || { cat "$work/last.time" >&2; exit 1; }
  local wall rss bytes
  wall=$(grep "Elapsed (wall clock)" "$work/last.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$work/last.time" | awk '{print $NF}')
  bytes=$(du -sb "$output" | cut -f1)
  printf '%s\t%s\t%s\t%s\n' "$label" "$wall" "$rss" "$bytes" | tee -a "$results" >&2
  rm -rf "$output"
}

for r in $(seq 1 "$rounds"); do
  measure "cp -r" "$work/copy" cp -r "$work/hf" "$work/copy"
  measure "porter --to gguf" "$work/porter.gguf" "$porter" convert "$work/hf" --to gguf -o "$work/porter.gguf" --quiet
  measure "gguf-py GGUFWriter" "$work/gguf-py.gguf" "$py" "$root/bench/gguf_py_write.py" "$work/hf" "$work/gguf-py.gguf"
done
measure "porter --to gguf --dtype q8_0" "$work/porter-q8.gguf" "$porter" convert "$work/hf" --to gguf --dtype q8_0 -o "$work/porter-q8.gguf" --quiet

echo
echo "source: $src_bytes bytes; $rounds interleaved rounds"
echo
echo "| command | wall time (each round) | peak RSS (max of rounds) | output bytes |"
echo "|---|---|---|---|"
python3 - "$results" <<'PY'
import sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    label, wall, rss, size = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append((wall, int(rss), int(size)))
for label, runs in rows.items():
    print(f"| `{label}` | {' / '.join(w for w, _, _ in runs)} | {max(r for _, r, _ in runs) / 1024:.0f} MB | {runs[0][2]:,} |")
PY
