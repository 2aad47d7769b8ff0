#!/usr/bin/env bash
# Makes the wild corpus's virtualenvs (git-ignored, inside scripts/wild/):
#   .venv     torch, numpy, h5py, safetensors (requirements.txt)
#   .venv-tf  tensorflow, to read SavedModel variables (requirements-tf.txt); skip with WILD_NO_TF=1
#   .venv-tok gguf-py, tokenizers, sentencepiece, transformers: the tokenizer entries' references
#             (requirements-tok.txt); skip with WILD_NO_TOK=1
# Needs Python 3.11 and PyPI (torch's CPU wheel may come from a local --find-links folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
if [ ! -x "$here/.venv/bin/python" ]; then
  "$py" -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
if [ "${WILD_NO_TF:-0}" != 1 ]; then
  if [ ! -x "$here/.venv-tf/bin/python" ]; then
    "$py" -m venv "$here/.venv-tf"
  fi
  "$here/.venv-tf/bin/pip" install -q -r "$here/requirements-tf.txt"
fi
if [ "${WILD_NO_TOK:-0}" != 1 ]; then
  if [ ! -x "$here/.venv-tok/bin/python" ]; then
    "$py" -m venv "$here/.venv-tok"
  fi
  "$here/.venv-tok/bin/pip" install -q -r "$here/requirements-tok.txt"
fi
echo "wild venvs ready"
