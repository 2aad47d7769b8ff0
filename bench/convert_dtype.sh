#!/usr/bin/env bash
# Benchmark: `porter convert --dtype f16|bf16` of the 428 MB mixed-dtype safetensors file
# made by bench/convert_safetensors.sh, against Python safetensors load_file + .half() /
# .bfloat16() + save_file, in one run (warm page cache). Checks that every tensor Porter
# wrote equals torch's cast.
#
#   bench/convert_dtype.sh [PORTER_BINARY] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
porter=${1:-$root/.build/release/porter}
runs=${2:-3}
py=${PORTER_VENV_ROOT:-/work/venvs}/torch/bin/python
work=${BENCH_DIR:-$root/bench-out}
big=$work/big.safetensors
[ -f "$big" ] || { echo "run bench/convert_safetensors.sh first (it makes $big)" >&2; exit 1; }
cat "$big" > /dev/null
for dtype in f16 bf16; do
  for i in $(seq "$runs"); do
    rm -f "$work/cast.safetensors" "$work/cast-py.safetensors"; sync
    /usr/bin/time -f "porter --dtype $dtype run $i: %e s wall, %M KB peak RSS" "$porter" convert "$big" --to safetensors --dtype "$dtype" -o "$work/cast.safetensors" --quiet
    /usr/bin/time -f "python .$dtype run $i: %e s wall, %M KB peak RSS" "$py" - "$big" "$work/cast-py.safetensors" "$dtype" <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
to = torch.float16 if sys.argv[3] == "f16" else torch.bfloat16
save_file({k: v.to(to) if v.is_floating_point() else v for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})
PY
  done
  "$py" - "$work/cast.safetensors" "$work/cast-py.safetensors" <<'PY'
import sys, torch
from safetensors.torch import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "Porter's cast differs from torch's"
print(f"{len(a)} tensors equal to torch's cast")
PY
done
rm -f "$work/cast.safetensors" "$work/cast-py.safetensors"
