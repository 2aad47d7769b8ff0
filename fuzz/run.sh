#!/usr/bin/env bash
# Builds and runs Porter's libFuzzer harnesses (docs/robustness.md, "Fuzzing").
#
#   fuzz/run.sh                      list the harnesses
#   fuzz/run.sh NAME [SECONDS]       build NAME, fuzz it for SECONDS (default 60)
#   fuzz/run.sh all [SECONDS]        every harness in turn
#   fuzz/run.sh build                build every harness, run nothing
#
# The seed corpus fuzz/corpus/NAME is copied to a scratch folder first, so the repository is
# never written to; new inputs stay in $FUZZ_WORK (default: a fresh mktemp folder) and crash
# inputs land in $FUZZ_WORK/artifacts/NAME/. Extra libFuzzer flags go in $FUZZ_FLAGS (e.g.
# FUZZ_FLAGS=-runs=1000000). The exit status is non-zero when a harness crashes, or when its log
# lacks libFuzzer's "Done N runs" line with N >= $FUZZ_MIN_RUNS (default 1). FUZZ_CONFIG=release
# builds optimised harnesses (slower to build, several times more inputs per second).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

HARNESSES=(fuzz-json fuzz-safetensors fuzz-numpy fuzz-gguf fuzz-pickle-vm fuzz-pickle-scan fuzz-torch-zip fuzz-torch-tar
           fuzz-torch-legacy fuzz-mapping fuzz-fairseq-dict fuzz-bpecodes fuzz-tf-checkpoint
           fuzz-tf-savedmodel fuzz-hdf5 fuzz-hdf5-checks fuzz-tokenizer-json fuzz-sentencepiece fuzz-onnx)
# libFuzzer links through --sanitize=fuzzer; Swift 6.3's driver does not add coverage
# instrumentation for it, so ask for the counters libFuzzer reads explicitly.
CONFIG="${FUZZ_CONFIG:-debug}"
BUILD=(swift build -c "$CONFIG" --sanitize=fuzzer --sanitize=address
       -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table)

build() { "${BUILD[@]}" "$@" 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol" ; return "${PIPESTATUS[0]}"; }

run_one() {
    local name="$1" seconds="$2"
    local work="$FUZZ_WORK/$name" artifacts="$FUZZ_WORK/artifacts/$name" log="$FUZZ_WORK/$name.log"
    rm -rf "$work"; mkdir -p "$work" "$artifacts"
    cp "$here/corpus/$name"/* "$work"/
    echo "== $name: ${seconds}s, corpus $(ls "$work" | wc -l) seeds, log $log"
    local status=0
    # libhdf5 mallocs cache entries sized from the file (8 GiB seen) without touching them; the
    # RSS limit, not libFuzzer's per-malloc limit, decides for it.
    local extra=()
    [[ "$name" == fuzz-hdf5 ]] && extra=(-malloc_limit_mb=65536)
    # allocator_may_return_null: a huge malloc fails as it does without ASan (libhdf5 asks for
    # terabytes on corrupt sizes and handles the NULL); Swift still traps on a failed allocation.
    # shellcheck disable=SC2086
    ASAN_OPTIONS="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    "$here/.build/$CONFIG/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 "${extra[@]}" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} "$work" >"$log" 2>&1 || status=$?
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" "$log" | sed "s/^/   /" || true
    local runs
    runs="$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -1)"
    if [[ $status -ne 0 ]]; then
        echo "!! $name exited with status $status; the end of its log:"; tail -40 "$log"; return 1
    fi
    if [[ -z "$runs" || "$runs" -lt "${FUZZ_MIN_RUNS:-1}" ]]; then
        echo "!! $name: log has no 'Done N runs' with N >= ${FUZZ_MIN_RUNS:-1} (got '${runs:-none}')"; tail -20 "$log"; return 1
    fi
    echo "   $name: $runs runs, no crash"
}

case "${1:-}" in
    "") printf '%s\n' "${HARNESSES[@]}"; exit 0 ;;
    build) build; exit ;;
esac
target="$1"; seconds="${2:-60}"
FUZZ_WORK="${FUZZ_WORK:-$(mktemp -d -t porter-fuzz.XXXXXX)}"
mkdir -p "$FUZZ_WORK"
if [[ "$target" == all ]]; then
    build
    failed=()
    for h in "${HARNESSES[@]}"; do run_one "$h" "$seconds" || failed+=("$h"); done
    if [[ ${#failed[@]} -gt 0 ]]; then echo "failed: ${failed[*]} (logs in $FUZZ_WORK)"; exit 1; fi
    echo "all ${#HARNESSES[@]} harnesses ran without a crash (logs in $FUZZ_WORK)"
else
    printf '%s\n' "${HARNESSES[@]}" | grep -qx "$target" || { echo "unknown harness $target; one of: ${HARNESSES[*]}" >&2; exit 2; }
    build --product "$target"
    run_one "$target" "$seconds"
fi
