#!/usr/bin/env bash
# Renders a passing and a failing report.html (and a report with a folded long table) with
# headless Chromium, for a person to look at
# (issue 17): the passing one from a fairseq → FSMT port verified against fairseq's own
# outputs, the failing one from the verifier fixture with a broken weight. Not run by
# `make test`; needs a built porter (swift build) and Chromium (apt-get install -y chromium).
#
#   scripts/report-screenshots.sh [OUT_DIR]      # default /tmp/porter-report-screenshots
#
# Environment: PORTER (the binary, default .build/debug/porter), CHROMIUM (the browser).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
porter=${PORTER:-$root/.build/debug/porter}
out=${1:-/tmp/porter-report-screenshots}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -x "$porter" ] || { echo "no porter at $porter: run swift build (or set PORTER)" >&2; exit 1; }
[ -n "$chromium" ] || { echo "no chromium: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The models are copied into the working folder, so the reports show the relative paths a user
# running porter beside their files would see (a path outside the working folder stays absolute).
cp -r "$root/fixtures/fairseq/separate" fairseq-en-de
cp -r "$root/fixtures/verifier/original" bert-original
cp -r "$root/fixtures/verifier/broken" bert-broken

# Passing: fairseq checkpoint → FSMT folder, verified at every level, against fairseq's reference.
"$porter" convert fairseq-en-de --to hf -o fsmt --verify \
    --reference fairseq-en-de/reference.safetensors --report passing -q
# Failing: a converted BERT whose one weight differs (exit 3 is the expected outcome).
status=0
"$porter" verify bert-original bert-broken --report failing -q 2>/dev/null || status=$?
[ "$status" -eq 3 ] || { echo "the failing verification exited $status, not 3" >&2; exit 1; }

# A report with 106 dropped tensors (the golden of ReportPresentationTests): long tables folded.
mkdir -p folded && cp "$root/Tests/Goldens/verifier/report-passing.html" folded/report.html

for kind in passing failing folded; do
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --screenshot="$out/$kind.png" --window-size=1200,1600 "file://$work/$kind/report.html" 2>/dev/null
    cp "$work/$kind/report.html" "$out/$kind.html"
    echo "$out/$kind.png"
done
