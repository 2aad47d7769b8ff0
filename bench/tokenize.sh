#!/usr/bin/env bash
# Tokenizer speed: WordPiece, byte-level BPE and Unigram on one ~10 MB mixed-text file (made on demand by
# bench/make_mixed_text.py, never committed): the Rust `tokenizers` library's encode_batch with
# RAYON_NUM_THREADS=1 vs Porter (porter-bench-tokenize, -c release, one thread), alternating, same session.
# Both encode every line without special tokens; the id checksums must agree.
#
#   bench/tokenize.sh [ROUNDS] [MB]      (default 2 rounds, 10 MB)
#
# Needs the tokenizers venv: fixtures/generate/.venv-tok (requirements-tok.txt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-2}
mb=${2:-10}
py=${PORTER_TOK_PYTHON:-$root/fixtures/generate/.venv-tok/bin/python}
work=${TMPDIR:-/tmp}/porter-bench-tokenize
mkdir -p "$work"
text="$work/mixed-${mb}mb.txt"
[ -f "$text" ] || python3 "$root/bench/make_mixed_text.py" "$text" "$mb"

(cd "$root" && swift build -c release --product porter-bench-tokenize >&2)
bin="$root/.build/release/porter-bench-tokenize"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); text $(wc -c < "$text") bytes, $(wc -l < "$text") lines" >&2
for t in bert-wordpiece gpt2-bytelevel unigram-metaspace; do
  file="$root/fixtures/tokenizers/$t/tokenizer.json"
  echo "== $t" >&2
  RAYON_NUM_THREADS=1 "$py" "$root/bench/tokenize_tokenizers.py" "$file" "$text" "$rounds" | sed "s/^/$t /"
  "$bin" "$file" "$text" "$rounds" | sed "s/^/$t /"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
