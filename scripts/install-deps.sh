#!/usr/bin/env bash
# Installs the Debian packages Porter builds against, if any are missing.
# Needs root (or sudo). Does nothing when all are present.
set -euo pipefail
# libdnnl-dev: oneDNN, the runtime's GEMM where installed (loaded at run time; OpenBLAS otherwise).
packages=(pkg-config zlib1g-dev libhdf5-dev libopenblas-dev libsnappy-dev libdnnl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
