#!/usr/bin/env bash
# What the HDF5 reader child (HDF5Isolation) costs: `porter convert` of a 256 MiB HDF5 file
# against the same tensors in safetensors (read in-process), h5py + safetensors in Python,
# and `cp`.
#
#   bench/convert_hdf5.sh
#
# Generates bench-out/big.h5 and bench-out/big.safetensors (16 f32 datasets of 1024 x 4096,
# contiguous; not committed, reused when present) with the torch virtualenv (h5py,
# safetensors), builds porter in release mode, and prints wall time and peak RSS
# (/usr/bin/time -v; for porter the parent's, the child's is reported separately by the
# kernel and not included) of each, best of 3. Set PY to the Python with h5py and
# safetensors (default fixtures/generate/.venv-torch/bin/python), BENCH_DIR to work elsewhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$root/bench-out}
py=${PY:-$root/fixtures/generate/.venv-torch/bin/python}
mkdir -p "$work"
if [ ! -f "$work/big.h5" ] || [ ! -f "$work/big.safetensors" ]; then
  "$py" - "$work" <<'PYEOF'
import sys, h5py, numpy as np
from safetensors.numpy import save_file
work = sys.argv[1]
rng = np.random.default_rng(0)
arrs = {f"layer{i}/kernel": rng.standard_normal((1024, 4096), dtype=np.float32) for i in range(16)}
with h5py.File(f"{work}/big.h5", "w") as f:
    for k, v in arrs.items():
        f.create_dataset(k, data=v)
save_file({k.replace("/", "."): v for k, v in arrs.items()}, f"{work}/big.safetensors")
PYEOF
fi
(cd "$root" && swift build -c release --product porter >&2)
porter="$root/.build/release/porter"

measure() {  # label, command...: best wall time of 3 and its peak RSS
  local label=$1; shift
  local best="" rss=""
  for _ in 1 2 3; do
    rm -rf "$work/out"*
    local log; log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log"
    local t; t=$(awk -F': ' '/Elapsed \(wall clock\)/{split($2,a,":"); print a[1]*60+a[2]}' "$log")
    local r; r=$(awk -F': ' '/Maximum resident/{print $2}' "$log")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$r; fi
    rm -f "$log"
  done
  printf '| %s | %.2f | %d |\n' "$label" "$best" "$((rss / 1024))"
}

echo "| run | wall s (best of 3) | peak RSS MB |"
echo "|---|---|---|"
measure "porter convert big.h5 --to safetensors (reader child)" "$porter" convert "$work/big.h5" --to safetensors -o "$work/out.safetensors"
measure "porter convert big.safetensors --to safetensors (in-process)" "$porter" convert "$work/big.safetensors" --to safetensors -o "$work/out.safetensors"
measure "python: h5py read + safetensors save_file" "$py" -c "
import sys, h5py
from safetensors.numpy import save_file
with h5py.File(sys.argv[1]) as f:
    t = {}
    f.visititems(lambda n, o: t.__setitem__(n.replace('/', '.'), o[()]) if isinstance(o, h5py.Dataset) else None)
save_file(t, sys.argv[2])" "$work/big.h5" "$work/out.safetensors"
measure "cp big.h5" cp "$work/big.h5" "$work/out.h5"
