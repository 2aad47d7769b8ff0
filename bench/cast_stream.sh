#!/usr/bin/env bash
# Benchmark: `porter convert --to safetensors --dtype f16` of a 2.3 GB bf16 checkpoint with a
# 394 M-element embedding (bench/make_cast_checkpoint.py, made on demand in $TMPDIR and kept
# there) against Python: safetensors `load_file` + `.half()` + `save_file`. Rounds interleave
# Porter and Python (warm page cache, one output of each at a time), each under
# /usr/bin/time -v; prints wall seconds and peak RSS per run, the median ratio, and checks
# that every tensor Porter wrote has the bits torch's cast gave.
#
#   bench/cast_stream.sh [PORTER_BINARY] [ROUNDS]     (default .build/release/porter, 5)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
porter=${1:-$root/.build/release/porter}
rounds=${2:-5}
py=${PORTER_TORCH_PYTHON:-/work/main/fixtures/generate/.venv-torch/bin/python}
work=${TMPDIR:-/tmp}/porter-cast-bench
mkdir -p "$work"
src=$work/bf16.safetensors
[ -f "$src" ] || "$py" "$root/bench/make_cast_checkpoint.py" "$src"
ls -l "$src"
cat "$src" > /dev/null
log=$work/times.txt
: > "$log"
measure() {  # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" 2> "$work/time.txt" > /dev/null
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  echo "$label $wall $rss" | tee -a "$log"
}
for i in $(seq "$rounds"); do
  rm -f "$work/porter.safetensors" "$work/python.safetensors"
  measure porter "$porter" convert "$src" --to safetensors --dtype f16 -o "$work/porter.safetensors" --quiet
  measure python "$py" -c '
import sys, torch
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
save_file({k: v.half() for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})
' "$src" "$work/python.safetensors"
done
"$py" - "$work/porter.safetensors" "$work/python.safetensors" <<'PY'
import sys, torch
from safetensors import safe_open
with safe_open(sys.argv[1], "pt") as a, safe_open(sys.argv[2], "pt") as b:
    assert set(a.keys()) == set(b.keys()), "tensor names differ"
    for k in a.keys():
        x, y = a.get_tensor(k), b.get_tensor(k)
        assert x.dtype == y.dtype == torch.float16 and x.shape == y.shape, k
        assert torch.equal(x.view(torch.int16), y.view(torch.int16)), f"{k}: Porter's bits differ from torch's"
    print(f"{len(a.keys())} tensors bit-equal to torch's cast")
PY
python3 - "$log" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
p = [float(r[1]) for r in rows if r[0] == "porter"]; q = [float(r[1]) for r in rows if r[0] == "python"]
pr = [int(r[2]) for r in rows if r[0] == "porter"]; qr = [int(r[2]) for r in rows if r[0] == "python"]
ratios = [a / b for a, b in zip(p, q)]
print(f"porter median {statistics.median(p):.2f} s (min {min(p):.2f}, max {max(p):.2f}), peak RSS max {max(pr)/1024:.0f} MB")
print(f"python median {statistics.median(q):.2f} s (min {min(q):.2f}, max {max(q):.2f}), peak RSS max {max(qr)/1024:.0f} MB")
print(f"ratio porter/python per round: median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}), {len(ratios)} rounds")
PY
rm -f "$work/porter.safetensors" "$work/python.safetensors"
