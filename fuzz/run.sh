#!/usr/bin/env bash
# Builds the emulator's fuzz targets and runs each for a bounded time, from the corpus
# committed in corpus/<target>/ (which grows with what is found new); every crash, leak of
# time (a slow input) or out-of-memory input is copied to regressions/<target>/, where
# `cargo test --test emulator fuzz_regressions` (stable) replays it. Then the corpora are
# minimized (`cargo fuzz cmin`) so what is committed stays small.
#
#   FUZZ_SECONDS=120 ./run.sh                      # every target, 120 s each
#   FUZZ_SECONDS=600 ./run.sh request cbor         # some targets, longer
#
# Flags, and why:
#   -s none      no sanitizer: the emulator is safe Rust (no `unsafe`), so AddressSanitizer
#                would find nothing the language does not already prevent, and its build of
#                the whole crate takes 15+ minutes on two cores; coverage guidance
#                (SanitizerCoverage) is still on. Panics are what we look for.
#   -a           debug assertions on (cargo-fuzz builds --release otherwise): integer
#                overflow panics instead of wrapping, as in the debug builds tests run.
#   -timeout=10  an input that takes 10 s is a finding (an emulator must not hang).
#   -rss_limit_mb=2048, -max_len=4096: what one request may cost here.
# Needs a nightly toolchain and cargo-fuzz (installed here if missing).
set -uo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-120}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(request cluster_query task_definition cbor query_protocol)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
flags=(-s none -a)

cargo +nightly fuzz build "${flags[@]}" || exit 1
mkdir -p logs
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target" "regressions/$target"
    dict=()
    [ -f "dicts/$target.dict" ] && dict=(-dict="dicts/$target.dict")
    log="logs/$target.log"
    echo "== $target: ${seconds}s"
    cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    code=$?
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log"
    grep -E '^#[0-9]+ +DONE' "$log" | tail -1
    for found in artifacts/"$target"/*; do
        [ -f "$found" ] || continue
        echo "   finding: $found"
        grep -m3 -E 'panicked at|Finding|ERROR: libFuzzer' "$log" | sed 's/^/   /'
        cp "$found" "regressions/$target/"
        rm "$found"
        status=1
    done
    [ $code -ne 0 ] && status=1
    # Keep only the inputs that add coverage.
    cargo +nightly fuzz cmin "${flags[@]}" "$target" "corpus/$target" >"logs/$target.cmin.log" 2>&1 \
        && echo "   corpus: $(ls "corpus/$target" | wc -l) inputs, $(du -sh "corpus/$target" | cut -f1)"
done
exit $status
