#!/usr/bin/env bash
# Benchmarks `porter convert` on a large safetensors file against Python's safetensors.
#
#   bench/convert_safetensors.sh [SIZE_MB]        (default 420)
#
# Generates bench-out/big.safetensors (not committed; reused when present) with the
# torch virtualenv, builds porter in release mode, then measures wall time and peak RSS
# (/usr/bin/time -v) of:
#   porter convert big.safetensors -o big.porter --to porter
#   porter convert big.porter -o back.safetensors --to safetensors      (checked byte-identical)
#   porter convert big.safetensors -o copy.safetensors --to safetensors (checked byte-identical)
#   python: safetensors.torch.load_file + save_file of the same file
# and prints a Markdown table for docs/benchmarks.md. Set PORTER_VENV_ROOT (default
# /work/venvs) to find the `torch` virtualenv; BENCH_DIR to work elsewhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mb=${1:-420}
work=${BENCH_DIR:-$root/bench-out}
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
mkdir -p "$work"
big=$work/big.safetensors

if [ ! -f "$big" ]; then
  echo "generating $big (~${size_mb} MB)" >&2
  "$py" - "$big" "$size_mb" <<'EOF'
import sys, torch
from safetensors.torch import save_file
path, mb = sys.argv[1], int(sys.argv[2])
g = torch.Generator().manual_seed(0)
tensors, total, i = {}, 0, 0
# A transformer-like mix: big f32 matrices, f16 and bf16 ones, small biases and an i64 buffer.
while total < mb * 1_000_000:
    kind = i % 4
    if kind == 0:
        t = torch.randn(1024, 4096, generator=g)                      # 16 MB f32
    elif kind == 1:
        t = torch.randn(2048, 2048, generator=g).to(torch.float16)    # 8 MB f16
    elif kind == 2:
        t = torch.randn(1024, 2048, generator=g).to(torch.bfloat16)   # 4 MB bf16
    else:
        t = torch.randn(4096, generator=g)                            # bias
    tensors[f"layers.{i // 4}.w{kind}"] = t
    total += t.numel() * t.element_size()
    i += 1
tensors["position_ids"] = torch.arange(512, dtype=torch.int64)
save_file(tensors, path, metadata={"format": "pt"})
EOF
fi

echo "building porter (release)" >&2
(cd "$root" && swift build -c release --product porter >&2)
porter=$(cd "$root" && swift build -c release --show-bin-path)/porter

file_bytes=$(stat -c %s "$big")
rows=()
measure() {  # label, command...
  local label=$1; shift
  sync
  /usr/bin/time -v "$@" > "$work/last.out" 2> "$work/last.time"
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/last.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/last.time")
  local pct
  pct=$(awk -v r="$rss" -v f="$file_bytes" 'BEGIN { printf "%.1f", 100 * r * 1024 / f }')
  rows+=("| $label | $wall | $((rss / 1024)) MB | $pct % |")
  echo "$label: wall $wall, peak RSS ${rss} KB (${pct}% of the file)" >&2
}

rm -rf "$work/big.porter" "$work/back.safetensors" "$work/copy.safetensors" "$work/py.safetensors"
measure "porter convert big.safetensors --to porter" "$porter" convert "$big" -o "$work/big.porter" --to porter --quiet
measure "porter convert big.porter --to safetensors" "$porter" convert "$work/big.porter" -o "$work/back.safetensors" --to safetensors --quiet
measure "porter convert big.safetensors --to safetensors" "$porter" convert "$big" -o "$work/copy.safetensors" --to safetensors --quiet
cmp "$big" "$work/back.safetensors"
cmp "$big" "$work/copy.safetensors"
echo "round trips byte-identical to the source" >&2
measure "python load_file + save_file" "$py" -c "
import sys
from safetensors.torch import load_file, save_file
from safetensors import safe_open
with safe_open(sys.argv[1], 'pt') as f: meta = f.metadata()
save_file(load_file(sys.argv[1]), sys.argv[2], metadata=meta)" "$big" "$work/py.safetensors"

echo
echo "File: $(basename "$big"), $file_bytes bytes; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| command | wall time | peak RSS | RSS / file size |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
